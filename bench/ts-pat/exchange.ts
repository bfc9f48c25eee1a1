// The pat exchange as a team would write it in TypeScript with `jose`: the RFC 8693 form, the
// token's format and CRC32 checksum, SHA-256, the same lookup statement as ours
// (portcullis.pat_exchange: revoked, expired, owner, allow-list, rate limit, usage), scope
// narrowing, and a Supabase-shaped JWT. Used in process (bench/pat/inproc.ts) and served
// (bench/ts-pat/deno.ts).
export type Query = (text: string, params: unknown[]) => Promise<(string | null)[][]>;

const B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const CRC = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  return c >>> 0;
});
function crc32(s: string): number {
  let c = 0xffffffff;
  for (let i = 0; i < s.length; i++) c = CRC[(c ^ s.charCodeAt(i)) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
/** The 6-character base62 CRC32 of a token's random part. */
export function checksum(s: string): string {
  let n = crc32(s);
  let out = "";
  for (let i = 0; i < 6; i++) {
    out = B62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

const json = (status: number, body: string, extra: Record<string, string> = {}) =>
  new Response(body, {
    status,
    headers: {
      "content-type": "application/json",
      "cache-control": "no-store",
      pragma: "no-cache",
      ...extra,
    },
  });

export function makeExchange(opts: {
  prefix: string;
  issuer: string;
  query: Query;
  sign: (claims: Record<string, unknown>) => Promise<string>;
}) {
  const shape = new RegExp(`^${opts.prefix}_([0-9A-Za-z]{30})([0-9A-Za-z]{6})$`);
  return async (req: Request): Promise<Response> => {
    const form = new URLSearchParams(await req.text());
    const error = (code: string, d: string, status = 400) =>
      json(status, JSON.stringify({ error: code, error_description: d }));
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:token-exchange") {
      return error("unsupported_grant_type", "token exchange only");
    }
    const token = form.get("subject_token") ?? "";
    const m = shape.exec(token);
    if (!m || checksum(m[1]) !== m[2]) return error("invalid_request", "the subject token is not valid");
    const hash = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token))),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    const ip = req.headers.get("x-forwarded-for")?.split(",").pop()?.trim() ?? null;
    const [row] = await opts.query(
      `select outcome, token_id::text, user_id::text, scopes::text,
         floor(extract(epoch from expires_at))::bigint::text, retry_after::text, email, phone,
         app_metadata, user_metadata, is_anonymous::text
       from portcullis.pat_exchange($1, $2::inet, $3::int, $4::int)`,
      [hash, ip, 1000000, 60],
    );
    if (row[0] === "rate_limited") return error("invalid_request", "slow down", 429);
    if (row[0] !== "ok") return error("invalid_request", "the subject token is not valid");
    const granted = (row[3] as string).slice(1, -1).split(",").filter(Boolean);
    const asked = form.get("scope")?.split(" ") ?? granted;
    if (!asked.every((s) => granted.includes(s))) return error("invalid_scope", "too wide");
    const iat = Math.floor(Date.now() / 1000);
    const exp = row[4] === null ? iat + 900 : Math.min(iat + 900, Number(row[4]));
    const jwt = await opts.sign({
      iss: opts.issuer,
      sub: row[2],
      aud: "authenticated",
      exp,
      iat,
      role: "authenticated",
      aal: "aal1",
      amr: [{ method: "pat", timestamp: iat }],
      session_id: "00000000-0000-0000-0000-000000000000",
      is_anonymous: row[10] === "true",
      email: row[6],
      phone: row[7],
      app_metadata: JSON.parse(row[8] as string),
      user_metadata: JSON.parse(row[9] as string),
      pat_id: row[1],
      scope: asked.join(" "),
    });
    return json(
      200,
      JSON.stringify({
        access_token: jwt,
        issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
        token_type: "Bearer",
        expires_in: exp - iat,
        scope: asked.join(" "),
      }),
    );
  };
}
