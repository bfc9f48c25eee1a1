// A script that reads a Supabase project's data as a user, with a personal access token
// instead of a password: PAT → exchange (RFC 8693, the Portcullis pat function) → supabase-js
// with `accessToken` → rows under the table's RLS policies, as the token's owner.
//
//   SUPABASE_URL=https://<ref>.supabase.co SUPABASE_ANON_KEY=<anon key> \
//   PORTCULLIS_PAT=acme_pat_… deno run --allow-net --allow-env examples/pat-script.ts
//
// PORTCULLIS_PAT_URL defaults to the function on the same project; `cargo xtask dev` prints the
// variables for the local stand-in. Copy it; nothing here is Portcullis-specific but the
// exchange request.
// deno-lint-ignore no-import-prefix -- a standalone script, copied without our import map
import { createClient } from "npm:@supabase/supabase-js@2";

const env = (name: string, fallback?: string): string => {
  const v = Deno.env.get(name) ?? fallback;
  if (!v) throw new Error(`set ${name}`);
  return v;
};
const supabaseUrl = env("SUPABASE_URL");
const patUrl = env("PORTCULLIS_PAT_URL", `${supabaseUrl}/functions/v1/portcullis-pat`);
const pat = env("PORTCULLIS_PAT");
const anonKey = env("SUPABASE_ANON_KEY");

// The short-lived token, exchanged again a minute before it expires.
let cached: { token: string; expiresAt: number } | undefined;
async function accessToken(): Promise<string> {
  if (cached && Date.now() < cached.expiresAt - 60_000) return cached.token;
  const response = await fetch(`${patUrl}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", apikey: anonKey },
    body: new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
      subject_token: pat,
      subject_token_type: "urn:portcullis:params:oauth:token-type:pat",
    }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`exchange refused: ${body.error}: ${body.error_description}`);
  cached = { token: body.access_token, expiresAt: Date.now() + body.expires_in * 1000 };
  return cached.token;
}

const supabase = createClient(supabaseUrl, anonKey, { accessToken });
const { data, error } = await supabase.from(Deno.env.get("TABLE") ?? "notes").select("*");
if (error) throw new Error(`${error.code}: ${error.message}`);
console.log(JSON.stringify(data, null, 2));
