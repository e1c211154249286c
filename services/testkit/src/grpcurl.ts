// What grpcurl does, as a library for tests: a reflection client (one bidi stream, one request
// at a time), a descriptor pool built from reflection answers alone, and dynamic unary calls
// encoded from those descriptors, so no generated code is involved.
import { create, createFileRegistry, fromBinary, fromJson, toBinary, toJson, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { Client, credentials, loadPackageDefinition, Metadata, type ClientDuplexStream, type GrpcObject, type ServiceClientConstructor, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { fileURLToPath } from "node:url";

const protoDir = fileURLToPath(new URL("../../kit/proto", import.meta.url));

export type Req = { host?: string } & ({ listServices: string } | { fileByFilename: string } | { fileContainingSymbol: string } | { allExtensionNumbersOfType: string } | { fileContainingExtension: { containingType: string; extensionNumber: number } });
type Res = {
  validHost: string;
  originalRequest?: Record<string, unknown>;
  messageResponse: string;
  listServicesResponse?: { service: { name: string }[] };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  allExtensionNumbersResponse?: { baseTypeName: string; extensionNumber: number[] };
  errorResponse?: { errorCode: number; errorMessage: string };
};

/** One bidi stream, one request at a time: the way grpcurl's reflection client talks. */
export function reflectionClient(address: string, version: "v1" | "v1alpha") {
  const pkg = loadSync(`grpc/reflection/${version}/reflection.proto`, { includeDirs: [protoDir], oneofs: true, defaults: false });
  const ns = (loadPackageDefinition(pkg).grpc as GrpcObject).reflection as GrpcObject;
  const Ctor = (ns[version] as GrpcObject).ServerReflection as ServiceClientConstructor;
  const client = new Ctor(address, credentials.createInsecure());
  const stream = (client as unknown as { serverReflectionInfo(): ClientDuplexStream<Req, Res> }).serverReflectionInfo();
  const waiting: ((r: Res) => void)[] = [];
  stream.on("data", (r: Res) => waiting.shift()?.(r));
  stream.on("error", () => undefined);
  return {
    ask(req: Req): Promise<Res> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no reflection answer to ${JSON.stringify(req)}`)), 5_000);
        waiting.push((r) => {
          clearTimeout(timer);
          resolve(r);
        });
        stream.write(req);
      });
    },
    close() {
      stream.end();
      client.close();
    },
  };
}

/** A descriptor pool from the files alone, dependencies first; a missing import throws. */
export function registryOf(pool: Map<string, FileDescriptorProto>) {
  const ordered: FileDescriptorProto[] = [];
  const visit = (name: string, from: string) => {
    const f = pool.get(name);
    if (!f) throw new Error(`${from} imports ${name}, which reflection never served`);
    if (ordered.includes(f)) return;
    for (const d of f.dependency) visit(d, name);
    ordered.push(f);
  };
  for (const name of pool.keys()) visit(name, "(root)");
  return createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
}


/** grpcurl -plaintext <address> list | describe | call, with an optional bearer token. */
export function grpcurl(address: string) {
  const reflection = reflectionClient(address, "v1");
  const pool = new Map<string, FileDescriptorProto>();
  const resolve = async (symbol: string): Promise<FileRegistry> => {
    const res = await reflection.ask({ fileContainingSymbol: symbol });
    if (res.errorResponse) throw new Error(`reflection: ${res.errorResponse.errorMessage}`);
    for (const b of res.fileDescriptorResponse!.fileDescriptorProto) {
      const f = fromBinary(FileDescriptorProtoSchema, b);
      pool.set(f.name, f);
    }
    for (let missing = deps(); missing.length > 0; missing = deps()) {
      for (const name of missing) {
        const res = await reflection.ask({ fileByFilename: name });
        if (res.errorResponse) throw new Error(`reflection: ${res.errorResponse.errorMessage}`);
        const f = fromBinary(FileDescriptorProtoSchema, res.fileDescriptorResponse!.fileDescriptorProto[0]);
        pool.set(f.name, f);
      }
    }
    return registryOf(pool);
  };
  const deps = () => [...new Set([...pool.values()].flatMap((f) => f.dependency).filter((d) => !pool.has(d)))];
  const channel = new Client(address, credentials.createInsecure());
  return {
    async list(): Promise<string[]> {
      return (await reflection.ask({ listServices: "*" })).listServicesResponse!.service.map((s) => s.name);
    },
    /** The method names of a service, from its descriptors. */
    async describe(service: string): Promise<string[]> {
      return (await resolve(service)).getService(service)!.methods.map((m) => m.name);
    },
    /** A unary call with a JSON request, answered as JSON; a failed call rejects with its ServiceError. */
    async call(method: string, json: Record<string, unknown>, token?: string): Promise<unknown> {
      const [service, name] = [method.slice(0, method.lastIndexOf("/")), method.slice(method.lastIndexOf("/") + 1)];
      const desc = (await resolve(service)).getService(service)!.methods.find((m) => m.name === name)!;
      const md = new Metadata();
      if (token) md.set("authorization", `Bearer ${token}`);
      const req = fromJson(desc.input, json as never);
      return new Promise((ok, fail) =>
        channel.makeUnaryRequest(
          `/${service}/${name}`,
          (m: typeof req) => Buffer.from(toBinary(desc.input, m)),
          (b: Buffer) => fromBinary(desc.output, b),
          req,
          md,
          { deadline: Date.now() + 5_000 },
          (err: ServiceError | null, res?: unknown) => (err ? fail(err) : ok(toJson(desc.output, res as never))),
        ),
      );
    },
    close() {
      reflection.close();
      channel.close();
    },
  };
}
