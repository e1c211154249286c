import { toProtoEnum } from "@sker/kit";
import { LIMITS } from "@sker/contracts/limits";
import type { PageRequest } from "@sker/contracts/common/v1/common";

/** A REST enum value ("idle") → its protobuf value; absent → the enum's UNSPECIFIED ("no filter", "leave as is"). */
export const enumIn = <E extends string>(value: string | undefined, prefix: string): E => toProtoEnum<E>(value ?? "unspecified", prefix);

/** ?limit&cursor → the store's page. The query validator fills limit from its default. */
export const page = (q: { limit?: number; cursor?: string }, limit: number = LIMITS.page.default): PageRequest => ({ limit: q.limit ?? limit, cursor: q.cursor ?? "" });
