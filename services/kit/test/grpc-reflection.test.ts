import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { descriptorSetBase64 } from "@sker/contracts";
import { startEventServer } from "./support/grpc.js";
import { reflectionClient, registryOf, type Req } from "@sker/testkit/grpcurl";

// Does what grpcurl does, with no token: list services, ask for the file of each symbol, then
// fetch every dependency by name and build a descriptor pool from the answers alone. Building
// the pool fails on any missing file or unresolved type (google.protobuf.Timestamp included).

const contracts = fromBinary(FileDescriptorSetSchema, Buffer.from(descriptorSetBase64, "base64")).file;
const servicesOf = (f: FileDescriptorProto) => f.service.map((s) => `${f.package}.${s.name}`);
const allServices = contracts.filter((f) => f.package.startsWith("sker.")).flatMap(servicesOf);

function mapEntriesOf(f: FileDescriptorProto): string[] {
  const out: string[] = [];
  const walk = (scope: string, msgs: FileDescriptorProto["messageType"]) => {
    for (const m of msgs) {
      if (m.options?.mapEntry) out.push(`${scope}.${m.name}`);
      walk(`${scope}.${m.name}`, m.nestedType);
    }
  };
  walk(f.package, f.messageType);
  return out;
}

function symbolsOf(f: FileDescriptorProto): string[] {
  const out: string[] = [];
  for (const s of f.service) {
    out.push(`${f.package}.${s.name}`);
    for (const m of s.method) out.push(`${f.package}.${s.name}.${m.name}`);
  }
  const walk = (scope: string, msgs: FileDescriptorProto["messageType"]) => {
    for (const m of msgs) {
      out.push(`${scope}.${m.name}`);
      for (const e of m.enumType) out.push(`${scope}.${m.name}.${e.name}`);
      walk(`${scope}.${m.name}`, m.nestedType);
    }
  };
  walk(f.package, f.messageType);
  for (const e of f.enumType) out.push(`${f.package}.${e.name}`);
  return out;
}

let server: Awaited<ReturnType<typeof startEventServer>>;
beforeAll(async () => {
  server = await startEventServer({ listEvents: async () => ({ events: [], latestSeq: 0, prunedSeq: 0 }) });
});
afterAll(() => server.close());

describe.each(["v1", "v1alpha"] as const)("server reflection %s", (version) => {
  let client: ReturnType<typeof reflectionClient>;
  beforeAll(() => {
    client = reflectionClient(server.address, version);
  });
  afterAll(() => client.close());

  /** file_containing_symbol, then file_by_filename for every dependency not yet held. */
  async function resolve(symbol: string, pool: Map<string, FileDescriptorProto>) {
    const res = await client.ask({ fileContainingSymbol: symbol });
    expect(res.errorResponse, `symbol ${symbol}`).toBeUndefined();
    const files = res.fileDescriptorResponse!.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
    expect(symbolsOf(files[0]).concat(files[0].messageType.flatMap((m) => m.field.map((f) => `${files[0].package}.${m.name}.${f.name}`)))).toContain(symbol);
    for (const f of files) pool.set(f.name, f);
    const missing = [...pool.values()].flatMap((f) => f.dependency).filter((d) => !pool.has(d));
    for (const name of new Set(missing)) {
      const dep = await client.ask({ fileByFilename: name });
      expect(dep.errorResponse, `file ${name}`).toBeUndefined();
      const [first] = dep.fileDescriptorResponse!.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
      expect(first.name).toBe(name);
      pool.set(first.name, first);
    }
  }

  it("lists the services this server serves, plus health and reflection, without a token", async () => {
    const res = await client.ask({ host: "localhost", listServices: "*" });
    expect(res.validHost).toBe("localhost");
    expect(res.originalRequest).toMatchObject({ listServices: "*" });
    expect(res.listServicesResponse!.service.map((s) => s.name)).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "sker.store.v1.EventService",
    ]);
  });

  it("resolves every listed service to real files whose dependencies all resolve", async () => {
    const listed = (await client.ask({ listServices: "" })).listServicesResponse!.service.map((s) => s.name);
    for (const name of listed) {
      const pool = new Map<string, FileDescriptorProto>();
      await resolve(name, pool);
      const registry = registryOf(pool);
      expect(registry.getService(name), name).toBeDefined();
    }
  });

  it("resolves every service, method, message and enum of the contracts, google.protobuf imports included", async () => {
    const pool = new Map<string, FileDescriptorProto>();
    const symbols = contracts.filter((f) => f.package.startsWith("sker.")).flatMap(symbolsOf);
    expect(symbols.length).toBeGreaterThan(100);
    for (const s of symbols) await resolve(s, pool);
    expect([...pool.keys()].some((n) => n.startsWith("google/protobuf/"))).toBe(true);
    expect([...pool.keys()].sort()).toEqual(contracts.map((f) => f.name).sort());

    // The pool built from the answers alone describes every RPC's request and response.
    const registry = registryOf(pool);
    for (const name of allServices) {
      const svc = registry.getService(name);
      expect(svc, name).toBeDefined();
      for (const m of svc!.methods) {
        expect(m.input.typeName).toMatch(/\./);
        expect(m.output.typeName).toMatch(/\./);
      }
    }
    // A map field's entry type is synthetic: the server answers for it (resolved above), and the
    // registry shows it as the parent message's map field, not as a message of its own.
    const entries = new Set(contracts.flatMap(mapEntriesOf));
    expect(entries.size).toBeGreaterThan(0);
    for (const s of symbols) {
      if (!entries.has(s)) expect(registry.get(s) ?? registry.getService(s.split(".").slice(0, -1).join(".")), s).toBeDefined();
    }
    for (const s of entries) {
      const parent = registry.getMessage(s.split(".").slice(0, -1).join("."));
      expect(parent?.fields.some((f) => f.fieldKind === "map"), s).toBe(true);
    }
  });

  it("answers each symbol with its own file first, then its imports", async () => {
    const res = await client.ask({ fileContainingSymbol: "sker.store.v1.EventService.ListEvents" });
    const names = res.fileDescriptorResponse!.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
    expect(names[0]).toBe("sker/store/v1/event.proto");
    expect(names).toContain("google/protobuf/timestamp.proto");
    expect(new Set(names).size).toBe(names.length);
  });

  it("resolves a leading-dot type name as grpcurl sends for field types", async () => {
    const res = await client.ask({ fileContainingSymbol: ".google.protobuf.Timestamp" });
    expect(fromBinary(FileDescriptorProtoSchema, res.fileDescriptorResponse!.fileDescriptorProto[0]).name).toBe("google/protobuf/timestamp.proto");
  });

  it("answers NOT_FOUND for an unknown symbol, file or extension, INVALID_ARGUMENT for an empty request, and keeps the stream open", async () => {
    const sym = await client.ask({ fileContainingSymbol: "sker.store.v1.NoSuchService" });
    expect(sym.errorResponse).toMatchObject({ errorCode: 5 });
    expect(sym.errorResponse!.errorMessage).toContain("sker.store.v1.NoSuchService");
    const file = await client.ask({ fileByFilename: "sker/nope.proto" });
    expect(file.errorResponse).toMatchObject({ errorCode: 5 });
    const ext = await client.ask({ fileContainingExtension: { containingType: "sker.store.v1.Node", extensionNumber: 1000 } });
    expect(ext.errorResponse).toMatchObject({ errorCode: 5 });
    const empty = await client.ask({} as Req);
    expect(empty.errorResponse).toMatchObject({ errorCode: 3 }); // INVALID_ARGUMENT: no request set
    const after = await client.ask({ listServices: "" });
    expect(after.listServicesResponse!.service.length).toBe(4);
  });

  it("answers extension numbers of a known type (none here) and NOT_FOUND for an unknown one", async () => {
    const known = await client.ask({ allExtensionNumbersOfType: "sker.store.v1.Node" });
    expect(known.allExtensionNumbersResponse).toMatchObject({ baseTypeName: "sker.store.v1.Node" });
    expect(known.allExtensionNumbersResponse!.extensionNumber ?? []).toEqual([]);
    const unknown = await client.ask({ allExtensionNumbersOfType: "sker.store.v1.Nope" });
    expect(unknown.errorResponse).toMatchObject({ errorCode: 5 });
  });
});
