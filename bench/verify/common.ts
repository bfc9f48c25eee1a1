// Shared inputs for the verification benchmark: a realistic GoTrue-style JSON body of a given
// size, signed with the official library.
import { Webhook } from "standardwebhooks";

export const SECRET = "v1,whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
export const SIZES = [256, 2048, 20480];

export interface Input {
  id: string;
  ts: string;
  sig: string;
  body: string;
  bytes: Uint8Array;
  headers: Record<string, string>;
}

export function input(size: number, nowSecs = Math.floor(Date.now() / 1000)): Input {
  const base = {
    metadata: { uuid: crypto.randomUUID(), name: "customize-access-token" },
    user_id: crypto.randomUUID(),
    pad: "",
  };
  const pad = Math.max(0, size - JSON.stringify(base).length);
  const body = JSON.stringify({ ...base, pad: "x".repeat(pad) });
  const id = crypto.randomUUID();
  const sig = new Webhook(SECRET.slice(3)).sign(id, new Date(nowSecs * 1000), body);
  const ts = String(nowSecs);
  return {
    id,
    ts,
    sig,
    body,
    bytes: new TextEncoder().encode(body),
    headers: { "webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig },
  };
}
