// The `auth: true` route option: resolves the request's session from its Authorization header
// before the handler runs (or answers the contract's 401), and marks the route in OpenAPI.
// Authentication runs in `transform`, which comes before body validation: a request without a valid
// token gets 401 whatever its body, as the contract's precedence (and Django REST Framework's) has it.
import { Elysia } from "elysia";
import type { Auth, Session } from "./service.ts";

export const TOKEN_SECURITY_SCHEME = "tokenAuth";

export function authPlugin(auth: Auth) {
  const sessions = new WeakMap<Request, Session>();
  return new Elysia({ name: "auth" }).macro({
    auth: {
      async transform({ request }) {
        sessions.set(request, await auth.authenticate(request.headers.get("authorization")));
      },
      resolve({ request }) {
        return { session: sessions.get(request)! };
      },
      detail: { security: [{ [TOKEN_SECURITY_SCHEME]: [] }] },
    },
  });
}
