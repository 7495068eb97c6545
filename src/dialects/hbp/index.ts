/** The Hasura Backend Plus dialect (api/hbp.txt): /auth/*, /health; storage arrives with its issue. */
import { Hono } from "hono";
import type { AppEnv } from "../shared/types";
import { account } from "./account";
import { auth } from "./auth";
import { boom, renderHbpError } from "./errors";
import { storage } from "./storage";

export const hbp = new Hono<AppEnv>();
hbp.onError(renderHbpError);

const authRoutes = new Hono<AppEnv>();
authRoutes.onError(renderHbpError);
authRoutes.route("/", auth);
authRoutes.route("/", account);
authRoutes.all("*", (c) => boom(c, 404, "Not Found"));

hbp.route("/auth", authRoutes);
hbp.route("/storage", storage);

/** api/hbp.txt, Service: GET /health, 204. */
hbp.get("/health", (c) => c.body(null, 204));
