// The `auth: true` route option: resolves the request's session from its Authorization header
// before the handler runs (or answers the contract's 401), and marks the route in OpenAPI.
import { Elysia } from "elysia";
import type { Auth } from "./service.ts";

export const TOKEN_SECURITY_SCHEME = "tokenAuth";

export function authPlugin(auth: Auth) {
  return new Elysia({ name: "auth" }).macro({
    auth: {
      async resolve({ request }) {
        return { session: await auth.authenticate(request.headers.get("authorization")) };
      },
      detail: { security: [{ [TOKEN_SECURITY_SCHEME]: [] }] },
    },
  });
}
