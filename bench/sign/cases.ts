// The sign function's in-process cases, shared by the Deno driver (bench/sign/inproc.ts, which
// times them in process) and the workerd one (bench/sign/worker.ts, timed from outside: isolate
// clocks do not advance during a request). Ours is the sign Wasm module behind the real shim
// (`POST /sign`: the user's JWT, the body, the policy, the URLs, the answer); the peers are what a
// user would write instead, doing the same work on the same inputs:
//
// (a) presigning: ours, a batch of N through `POST /sign`, against N URLs presigned with
//     `aws4fetch` (`AwsClient.sign`, signQuery) and with `@aws-sdk/s3-request-presigner`
//     (`getSignedUrl` of a `GetObjectCommand`), N = 1 and 100; the peers only sign (no JWT,
//     no policy, no JSON), so the comparison is conservative.
// (b) the whole request in process: ours against bench/ts-sign/sign.ts (jose + aws4fetch, the
//     same policy), a batch of 1 and of 50.
import { Served, wasmModule } from "../../functions/_shared/adapter.ts";
import { SignJWT } from "jose";
import { AwsClient } from "aws4fetch";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { makeSign, type SignConfig } from "../ts-sign/sign.ts";
import bench from "../sign-bench.json" with { type: "json" };

export type Run = () => Promise<void> | void;
export type Case = [name: string, ours: Run, ts: Run];

// The peers' configuration and our policy saying the same (bench/ts-sign/sign.ts's rule), shared
// with the end-to-end comparison (crates/xtask/src/bench_sign.rs).
export const CONFIG: SignConfig = bench.config;

/** The sign function's environment for `c` and the shared policy. */
export function signEnv(c: SignConfig): Record<string, string> {
  return {
    SUPABASE_URL: c.supabaseUrl,
    PORTCULLIS_JWT_SECRET: c.jwtSecret,
    PORTCULLIS_SIGN_POLICY: JSON.stringify(bench.policy),
    BENCH_S3_KEY: c.accessKeyId,
    BENCH_S3_SECRET: c.secretAccessKey,
  };
}

export const USER = "8c7e6b2a-0000-4000-8000-000000005197";

/** A user's access token as Supabase Auth issues it (HS256, the legacy secret). */
export async function userToken(c: SignConfig): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return await new SignJWT({
    role: "authenticated",
    aal: "aal1",
    amr: [{ method: "password", timestamp: now }],
    session_id: "2b7f2f0e-4c7b-4f1e-9a55-6d2c8a0e1f3a",
    email: "ada@example.com",
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(`${c.supabaseUrl}/auth/v1`)
    .setAudience("authenticated")
    .setSubject(USER)
    .setIssuedAt(now)
    .setExpirationTime(now + 86400)
    .sign(new TextEncoder().encode(c.jwtSecret));
}

/** The body of a batch of `n` downloads of the user's own objects. */
export function batch(n: number): string {
  return JSON.stringify({
    bucket: "media",
    objects: Array.from(
      { length: n },
      (_, i) => ({ key: `users/${USER}/photos/IMG_${1000 + i}.jpg`, method: "GET" }),
    ),
  });
}

// deno-lint-ignore no-explicit-any
export async function signCases(wasm: any): Promise<Case[]> {
  const env = signEnv(CONFIG);
  const ours = new Served(
    wasmModule(
      wasm,
      (get: (name: string) => string | undefined, hasDb: boolean) => new wasm.SignFunction(get, hasDb),
    ),
    (name) => env[name],
    false,
  );
  const ts = makeSign(CONFIG);
  const token = await userToken(CONFIG);
  const request = (prefix: string, body: string) =>
    new Request(`http://127.0.0.1${prefix}/sign`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body,
    });
  const noQuery = () => Promise.reject(new Error("sign has no database"));
  async function ok(r: Response, who: string, urls: number) {
    const text = await r.text();
    if (r.status !== 200) throw new Error(`${who}: ${r.status} ${text.slice(0, 300)}`);
    if (JSON.parse(text).urls.length !== urls) throw new Error(`${who}: not ${urls} URLs`);
  }
  const aws = new AwsClient({
    accessKeyId: CONFIG.accessKeyId,
    secretAccessKey: CONFIG.secretAccessKey,
    service: "s3",
    region: CONFIG.region,
  });
  const s3 = new S3Client({
    region: CONFIG.region,
    endpoint: CONFIG.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: CONFIG.accessKeyId, secretAccessKey: CONFIG.secretAccessKey },
  });
  const keys = (n: number) => Array.from({ length: n }, (_, i) => `users/${USER}/photos/IMG_${1000 + i}.jpg`);
  const cases: Case[] = [];
  for (const n of [1, 100]) {
    const body = batch(n);
    const names = keys(n);
    const oursRun: Run = async () =>
      ok(await ours.fetch(request("/portcullis-sign", body), noQuery), "ours", n);
    cases.push([
      `presign ×${n}: ours (POST /sign) vs aws4fetch`,
      oursRun,
      async () => {
        const urls = await Promise.all(names.map((k) => {
          const url = new URL(`${CONFIG.endpoint}/${CONFIG.bucket}/${k}`);
          url.searchParams.set("X-Amz-Expires", "300");
          return aws.sign(url.toString(), { method: "GET", aws: { signQuery: true } });
        }));
        if (urls.length !== n) throw new Error("aws4fetch");
      },
    ]);
    cases.push([
      `presign ×${n}: ours (POST /sign) vs @aws-sdk/s3-request-presigner`,
      oursRun,
      async () => {
        const urls = await Promise.all(
          names.map((k) =>
            getSignedUrl(s3, new GetObjectCommand({ Bucket: CONFIG.bucket, Key: k }), { expiresIn: 300 })
          ),
        );
        if (urls.length !== n) throw new Error("@aws-sdk");
      },
    ]);
  }
  for (const n of [1, 50]) {
    const body = batch(n);
    cases.push([
      `POST /sign batch of ${n}: ours vs TypeScript (jose + aws4fetch)`,
      async () => ok(await ours.fetch(request("/portcullis-sign", body), noQuery), "ours", n),
      async () => ok(await ts(request("", body)), "ts", n),
    ]);
  }
  return cases;
}
