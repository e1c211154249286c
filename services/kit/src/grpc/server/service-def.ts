type MethodDef = { path: string; requestStream: boolean; responseStream: boolean; requestDeserialize: (b: Buffer) => any; responseSerialize: (v: any) => Buffer };
export type ServiceDef = Record<string, MethodDef>;
export type ReqOf<M> = M extends { requestDeserialize: (b: Buffer) => infer R } ? R : never;
export type ResOf<M> = M extends { responseSerialize: (v: infer R) => Buffer } ? R : never;
