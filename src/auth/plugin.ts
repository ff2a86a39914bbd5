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
      // Not `async`: a cached token is settled without a promise; a database lookup returns one.
      transform({ request }) {
        const session = auth.authenticate(request.headers.get("authorization"));
        if (session instanceof Promise) return session.then((found) => void sessions.set(request, found));
        sessions.set(request, session);
      },
      resolve({ request }) {
        return { session: sessions.get(request)! };
      },
      detail: { security: [{ [TOKEN_SECURITY_SCHEME]: [] }] },
    },
  });
}
