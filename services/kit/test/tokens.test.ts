import { describe, expect, it } from "vitest";
import { Tokens } from "@sker/kit";

const settings = { jwtSecret: "k".repeat(40), jwtIssuer: "sker", jwtAudience: "sker-api" };
const user = { id: "3f0c9a8e-9a4b-4c57-8d5e-0a1b2c3d4e5f", email: "a@example.com", username: "a" };

describe("Tokens.verify remembers verified tokens", () => {
  it("still refuses a remembered token once it has expired", async () => {
    const tokens = new Tokens(settings);
    const token = await tokens.signAccess(user, 1);
    await expect(tokens.verify(token)).resolves.toMatchObject({ kind: "user", userId: user.id });
    await new Promise((r) => setTimeout(r, 1100));
    await expect(tokens.verify(token)).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
  });

  it("never answers an altered token from memory", async () => {
    const tokens = new Tokens(settings);
    const token = await tokens.signAccess(user, 60);
    await tokens.verify(token);
    const [h, p, s] = token.split(".");
    const flipped = `${h}.${p}.${s.slice(0, -2)}${s.endsWith("AA") ? "BB" : "AA"}`;
    await expect(tokens.verify(flipped)).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
  });

  it("does not trust tokens signed with another secret", async () => {
    const other = await new Tokens({ ...settings, jwtSecret: "z".repeat(40) }).signAccess(user, 60);
    await expect(new Tokens(settings).verify(other)).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
  });
});

describe("service tokens", () => {
  it("name the service they were made for, each its own", async () => {
    const tokens = new Tokens(settings);
    await expect(tokens.verify(await tokens.service("gateway"))).resolves.toEqual({ kind: "service", name: "gateway" });
    await expect(tokens.verify(await tokens.service("broker"))).resolves.toEqual({ kind: "service", name: "broker" });
  });
});
