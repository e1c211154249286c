// Generated contracts live under src/gen (never edited). Import a proto file's types and
// clients by its path: `@sker/contracts/store/v1/node` is proto/sker/store/v1/node.proto.
// Hand-written, shared by every service: `@sker/contracts/limits` (every input limit),
// `@sker/contracts/enums` (REST spelling of the proto enums), `@sker/contracts/task-rules`.
export { descriptorSetBase64 } from "./gen/descriptor-set.js";
