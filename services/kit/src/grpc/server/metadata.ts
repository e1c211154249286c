import type { Metadata } from "@grpc/grpc-js";

/** One text header, or undefined when absent or empty. */
export function headerOf(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return typeof v === "string" && v !== "" ? v : undefined;
}
