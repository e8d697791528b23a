// Passkeys in the browser: the server's WebAuthn options (buffers as base64url) go to
// navigator.credentials, and the authenticator's answer comes back as JSON. The private key never
// leaves the authenticator; this module only converts between JSON and ArrayBuffers.

import { request } from './api';

type Json = Record<string, unknown>;

function fromB64url(s: string): ArrayBuffer {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(s.length / 4) * 4, '=');
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

function toB64url(buf: ArrayBuffer | null): string | null {
  if (!buf) return null;
  let bin = '';
  for (const b of new Uint8Array(buf)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function withIds(list: unknown): Json[] | undefined {
  return Array.isArray(list) ? list.map((c: Json) => ({ ...c, id: fromB64url(c.id as string) })) : undefined;
}

/** Whether this browser can use passkeys at all. */
export function passkeysSupported(): boolean {
  return typeof window !== 'undefined' && 'PublicKeyCredential' in window && !!navigator.credentials;
}

interface Ceremony {
  ceremony_id: string;
  options: { publicKey: Json };
}

/** Registers a new passkey for the signed-in customer. */
export async function registerPasskey(name: string): Promise<void> {
  const c = await request<Ceremony>('/v1/auth/passkey-registrations', { method: 'POST' });
  const pk = c.options.publicKey;
  const publicKey = {
    ...pk,
    challenge: fromB64url(pk.challenge as string),
    user: { ...(pk.user as Json), id: fromB64url((pk.user as Json).id as string) },
    excludeCredentials: withIds(pk.excludeCredentials),
  } as unknown as PublicKeyCredentialCreationOptions;
  const cred = (await navigator.credentials.create({ publicKey })) as PublicKeyCredential | null;
  if (!cred) throw new Error('no passkey was created');
  const r = cred.response as AuthenticatorAttestationResponse;
  await request('/v1/auth/passkeys', {
    body: {
      ceremony_id: c.ceremony_id,
      name,
      credential: {
        id: cred.id,
        rawId: toB64url(cred.rawId),
        type: cred.type,
        response: {
          attestationObject: toB64url(r.attestationObject),
          clientDataJSON: toB64url(r.clientDataJSON),
        },
        extensions: {},
      },
    },
  });
}

/** Signs in with one of this site's passkeys, which the browser offers. */
export async function signInWithPasskey(): Promise<void> {
  const c = await request<Ceremony>('/v1/auth/passkey-challenges', { method: 'POST' });
  const pk = c.options.publicKey;
  const publicKey = {
    ...pk,
    challenge: fromB64url(pk.challenge as string),
    allowCredentials: withIds(pk.allowCredentials) ?? [],
  } as unknown as PublicKeyCredentialRequestOptions;
  const cred = (await navigator.credentials.get({ publicKey })) as PublicKeyCredential | null;
  if (!cred) throw new Error('no passkey was used');
  const r = cred.response as AuthenticatorAssertionResponse;
  await request('/v1/auth/passkey-sessions', {
    body: {
      ceremony_id: c.ceremony_id,
      credential: {
        id: cred.id,
        rawId: toB64url(cred.rawId),
        type: cred.type,
        response: {
          authenticatorData: toB64url(r.authenticatorData),
          clientDataJSON: toB64url(r.clientDataJSON),
          signature: toB64url(r.signature),
          userHandle: toB64url(r.userHandle),
        },
        extensions: {},
      },
    },
  });
}
