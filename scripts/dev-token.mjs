#!/usr/bin/env node
// Mints a token for grpcurl against the store or broker in development, signed with the same
// secret the services use (JWT_SECRET, else the generated one in SKER_DATA_DIR).
//   node scripts/dev-token.mjs --user <userId> --email <email> [--ttl 900]
//   node scripts/dev-token.mjs --service gateway
import { parseArgs } from "node:util";
import { commonConfig, Tokens } from "@sker/kit";

const { values } = parseArgs({ options: { user: { type: "string" }, email: { type: "string" }, username: { type: "string" }, service: { type: "string" }, ttl: { type: "string" } } });
const tokens = new Tokens(commonConfig());
if (values.service) console.log(await tokens.service(values.service));
else if (values.user && values.email) console.log(await tokens.signAccess({ id: values.user, email: values.email, username: values.username ?? "" }, Number(values.ttl ?? 900)));
else {
  console.error("usage: dev-token.mjs --user <userId> --email <email> [--ttl seconds] | --service <name>");
  process.exit(2);
}
