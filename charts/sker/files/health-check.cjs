// `helm test`: asks every service whether it is ready, the way its readiness probe does:
// HTTP GET for HTTP services, grpc.health.v1.Health/Check for gRPC ones. Runs with the store
// image's node and @grpc/grpc-js. Targets come as JSON in SKER_HEALTH_TARGETS.
const grpc = require("@grpc/grpc-js");

const targets = JSON.parse(process.env.SKER_HEALTH_TARGETS || "[]");
const SERVING = 1;

// HealthCheckRequest { string service = 1 } and HealthCheckResponse { ServingStatus status = 1 }
// are small enough to encode by hand, which keeps this script free of proto files.
const encodeRequest = (service) => {
  const name = Buffer.from(service, "utf8");
  return name.length ? Buffer.concat([Buffer.from([0x0a, name.length]), name]) : Buffer.alloc(0);
};
const decodeStatus = (buf) => (buf.length >= 2 && buf[0] === 0x08 ? buf[1] : 0);

function checkGrpc(t) {
  return new Promise((resolve) => {
    const client = new grpc.Client(t.address, grpc.credentials.createInsecure());
    client.makeUnaryRequest(
      "/grpc.health.v1.Health/Check",
      encodeRequest,
      decodeStatus,
      t.service,
      new grpc.Metadata(),
      { deadline: Date.now() + 5000 },
      (err, status) => {
        client.close();
        resolve(err ? `error ${err.code} ${err.details}` : status === SERVING ? "SERVING" : `status ${status}`);
      },
    );
  });
}

async function checkHttp(t) {
  try {
    const res = await fetch(t.url, { signal: AbortSignal.timeout(5000) });
    return res.ok ? "SERVING" : `HTTP ${res.status}`;
  } catch (err) {
    return `error ${err.message}`;
  }
}

(async () => {
  let failed = 0;
  for (const t of targets) {
    const result = t.kind === "grpc" ? await checkGrpc(t) : await checkHttp(t);
    if (result !== "SERVING") failed++;
    console.log(`${t.name}: ${result}`);
  }
  if (!targets.length) console.log("no targets");
  process.exit(failed || !targets.length ? 1 : 0);
})();
