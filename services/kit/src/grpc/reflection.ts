import { fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { status as GrpcStatus, type Server, type ServerDuplexStream, type ServiceDefinition } from "@grpc/grpc-js";
import { loadSync, type PackageDefinition } from "@grpc/proto-loader";
import { descriptorSetBase64 } from "@sker/contracts";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { fileURLToPath } from "node:url";

// Server reflection (grpc.reflection.v1 and v1alpha) answered from the FileDescriptorSet that
// `buf build` made of proto/: real file names and dependency lists, google/protobuf imports
// included, which is what grpcurl needs to describe and call (@grpc/reflection serves
// synthetic files without dependencies, so grpcurl fails on imported types).

/** Every file and symbol the server can describe, indexed once per process. */
export interface DescriptorIndex {
  files: Map<string, { proto: FileDescriptorProto; bytes: Uint8Array }>;
  /** Fully-qualified symbol (no leading dot) → file name. */
  symbols: Map<string, string>;
  /** Extendee full name → extension field number → file name. */
  extensions: Map<string, Map<number, string>>;
}

export function indexDescriptors(files: Iterable<FileDescriptorProto>): DescriptorIndex {
  const index: DescriptorIndex = { files: new Map(), symbols: new Map(), extensions: new Map() };
  for (const proto of files) {
    index.files.set(proto.name, { proto, bytes: toBinary(FileDescriptorProtoSchema, proto) });
    const add = (symbol: string) => index.symbols.set(symbol, proto.name);
    const addExtensions = (scope: string, fields: FieldDescriptorProto[]) => {
      for (const ext of fields) {
        add(`${scope}${ext.name}`);
        const extendee = ext.extendee.replace(/^\./, "");
        let numbers = index.extensions.get(extendee);
        if (!numbers) index.extensions.set(extendee, (numbers = new Map()));
        numbers.set(ext.number, proto.name);
      }
    };
    // Enum values live in the scope that encloses the enum (protobuf's C++ scoping rule).
    const addEnums = (scope: string, enums: EnumDescriptorProto[]) => {
      for (const e of enums) {
        add(`${scope}${e.name}`);
        for (const v of e.value) add(`${scope}${v.name}`);
      }
    };
    const addMessages = (scope: string, messages: DescriptorProto[]) => {
      for (const m of messages) {
        const name = `${scope}${m.name}`;
        add(name);
        for (const f of m.field) add(`${name}.${f.name}`);
        for (const o of m.oneofDecl) add(`${name}.${o.name}`);
        addMessages(`${name}.`, m.nestedType);
        addEnums(`${name}.`, m.enumType);
        addExtensions(`${name}.`, m.extension);
      }
    };
    const pkg = proto.package ? `${proto.package}.` : "";
    for (const s of proto.service) {
      add(`${pkg}${s.name}`);
      for (const m of s.method) add(`${pkg}${s.name}.${m.name}`);
    }
    addMessages(pkg, proto.messageType);
    addEnums(pkg, proto.enumType);
    addExtensions(pkg, proto.extension);
  }
  return index;
}

/** The file first, then every file it imports, transitively, each once. */
export function withDependencies(index: DescriptorIndex, fileName: string): Uint8Array[] {
  const seen = new Set<string>();
  const out: Uint8Array[] = [];
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    const file = index.files.get(name);
    if (!file) return;
    out.push(file.bytes);
    for (const dep of file.proto.dependency) visit(dep);
  };
  visit(fileName);
  return out;
}

const protoDir = fileURLToPath(new URL("../../proto", import.meta.url));
const LOADER_OPTIONS = { oneofs: true, longs: Number, defaults: false } as const;

/**
 * proto-loader (protobufjs) describes a file under a made-up name ("grpc_health_v1.proto") and
 * with type references relative to their scope ("HealthCheckResponse"), where protoc and
 * grpcurl expect ".grpc.health.v1.HealthCheckResponse". These files import nothing, so the
 * canonical name and fully-qualified references are all they need.
 */
function loadedFile(pkg: PackageDefinition, message: string, canonicalName: string): FileDescriptorProto {
  const def = pkg[message] as { fileDescriptorProtos?: Buffer[] };
  const proto = fromBinary(FileDescriptorProtoSchema, def.fileDescriptorProtos![0]);
  proto.name = canonicalName;
  const defined = new Set<string>();
  const collect = (scope: string, messages: DescriptorProto[], enums: EnumDescriptorProto[]) => {
    for (const e of enums) defined.add(`${scope}.${e.name}`);
    for (const m of messages) {
      defined.add(`${scope}.${m.name}`);
      collect(`${scope}.${m.name}`, m.nestedType, m.enumType);
    }
  };
  const root = proto.package ? `.${proto.package}` : "";
  collect(root, proto.messageType, proto.enumType);
  // protobuf name resolution: innermost scope first, then each enclosing one.
  const qualify = (name: string, scope: string) => {
    if (name === "" || name.startsWith(".")) return name;
    for (let s = scope; ; s = s.slice(0, Math.max(s.lastIndexOf("."), 0))) {
      if (defined.has(`${s}.${name}`)) return `${s}.${name}`;
      if (s === "") return name;
    }
  };
  const fix = (scope: string, messages: DescriptorProto[]) => {
    for (const m of messages) {
      const inner = `${scope}.${m.name}`;
      for (const f of m.field) {
        f.typeName = qualify(f.typeName, inner);
        // protoc always fills json_name; without it, JSON tools (grpcurl -d, toJson) see "" keys.
        if (!f.jsonName) f.jsonName = f.name.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
      }
      fix(inner, m.nestedType);
    }
  };
  fix(root, proto.messageType);
  for (const svc of proto.service)
    for (const m of svc.method) {
      m.inputType = qualify(m.inputType, root);
      m.outputType = qualify(m.outputType, root);
    }
  return proto;
}

const VERSIONS = ["v1", "v1alpha"] as const;

let shared: { index: DescriptorIndex; definitions: Record<(typeof VERSIONS)[number], ServiceDefinition> } | undefined;

/** Decoded once per process: the contracts, health, and reflection itself. */
function load() {
  if (shared) return shared;
  const contracts = fromBinary(FileDescriptorSetSchema, Buffer.from(descriptorSetBase64, "base64")).file;
  const health = loadSync(healthProtoPath, LOADER_OPTIONS);
  const own = Object.fromEntries(
    VERSIONS.map((v) => [v, loadSync(`grpc/reflection/${v}/reflection.proto`, { ...LOADER_OPTIONS, includeDirs: [protoDir] })]),
  ) as Record<(typeof VERSIONS)[number], PackageDefinition>;
  const files = [
    ...contracts,
    loadedFile(health, "grpc.health.v1.HealthCheckRequest", "grpc/health/v1/health.proto"),
    ...VERSIONS.map((v) => loadedFile(own[v], `grpc.reflection.${v}.ServerReflectionRequest`, `grpc/reflection/${v}/reflection.proto`)),
  ];
  shared = {
    index: indexDescriptors(files),
    definitions: {
      v1: own.v1["grpc.reflection.v1.ServerReflection"] as ServiceDefinition,
      v1alpha: own.v1alpha["grpc.reflection.v1alpha.ServerReflection"] as ServiceDefinition,
    },
  };
  return shared;
}

interface ExtensionRequest {
  containingType?: string;
  extensionNumber?: number;
}

interface ReflectionRequest {
  host?: string;
  messageRequest?: "fileByFilename" | "fileContainingSymbol" | "fileContainingExtension" | "allExtensionNumbersOfType" | "listServices";
  fileByFilename?: string;
  fileContainingSymbol?: string;
  fileContainingExtension?: ExtensionRequest;
  allExtensionNumbersOfType?: string;
  listServices?: string;
}

type ReflectionResponse = Record<string, unknown>;

const notFound = (message: string) => ({ errorResponse: { errorCode: GrpcStatus.NOT_FOUND, errorMessage: message } });

/** One reflection request → its response body (without host and echo). */
export function answer(index: DescriptorIndex, services: readonly string[], req: ReflectionRequest): ReflectionResponse {
  const files = (name: string) => ({ fileDescriptorResponse: { fileDescriptorProto: withDependencies(index, name).map((b) => Buffer.from(b)) } });
  switch (req.messageRequest) {
    case "listServices":
      return { listServicesResponse: { service: services.map((name) => ({ name })) } };
    case "fileByFilename": {
      const name = req.fileByFilename ?? "";
      return index.files.has(name) ? files(name) : notFound(`file not found: ${name}`);
    }
    case "fileContainingSymbol": {
      const symbol = (req.fileContainingSymbol ?? "").replace(/^\./, "");
      const file = index.symbols.get(symbol);
      return file ? files(file) : notFound(`symbol not found: ${symbol}`);
    }
    case "fileContainingExtension": {
      const type = (req.fileContainingExtension?.containingType ?? "").replace(/^\./, "");
      const number = req.fileContainingExtension?.extensionNumber ?? 0;
      const file = index.extensions.get(type)?.get(number);
      return file ? files(file) : notFound(`extension not found: ${type} ${number}`);
    }
    case "allExtensionNumbersOfType": {
      const type = (req.allExtensionNumbersOfType ?? "").replace(/^\./, "");
      if (!index.symbols.has(type)) return notFound(`type not found: ${type}`);
      return { allExtensionNumbersResponse: { baseTypeName: type, extensionNumber: [...(index.extensions.get(type)?.keys() ?? [])] } };
    }
    default:
      return { errorResponse: { errorCode: GrpcStatus.INVALID_ARGUMENT, errorMessage: "no message_request set" } };
  }
}

/**
 * Adds grpc.reflection.v1 and v1alpha to the server. `services` are the names listed (what the
 * server serves); every file in the index can still be described. No token is required:
 * describing the API is public, calling it is not. `track` sees each stream (shutdown ends them).
 */
export function addReflection(server: Server, services: readonly string[], track?: (call: ServerDuplexStream<ReflectionRequest, ReflectionResponse>) => void): void {
  const { index, definitions } = load();
  const listed = [...new Set([...services, "grpc.health.v1.Health", ...VERSIONS.map((v) => `grpc.reflection.${v}.ServerReflection`)])].sort();
  for (const v of VERSIONS) {
    server.addService(definitions[v], {
      ServerReflectionInfo(call: ServerDuplexStream<ReflectionRequest, ReflectionResponse>) {
        track?.(call);
        const finish = () => {
          if (!call.writableEnded) call.end();
        };
        call.on("data", (req: ReflectionRequest) => {
          if (!call.writableEnded) call.write({ validHost: req.host ?? "", originalRequest: req, ...answer(index, listed, req) });
        });
        call.on("end", finish);
        call.on("error", finish);
      },
    });
  }
}
