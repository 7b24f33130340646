/** The login the gateway issues in builtin mode (and for every debug purchase). The password is sealed before it is stored. */
export interface IssuedTenant {
  frontendUrl: string;
  adminUrl?: string;
  adminUserName: string;
  adminPassword: string;
}

const UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER = "abcdefghijkmnopqrstuvwxyz";
const DIGITS = "23456789";
const SYMBOLS = "!#%+-=@^_";
const ALL = UPPER + LOWER + DIGITS + SYMBOLS;
export const PASSWORD_LENGTH = 20;

/** Uniform pick by rejection sampling, so no character is likelier than another. */
function pick(alphabet: string): string {
  const limit = 256 - (256 % alphabet.length);
  const byte = new Uint8Array(1);
  for (;;) {
    crypto.getRandomValues(byte);
    const value = byte[0] ?? 0;
    if (value < limit) return alphabet[value % alphabet.length] ?? "";
  }
}

/** 20 characters, at least one of each class (what most admin consoles demand), ~122 bits of entropy. */
export function strongPassword(): string {
  const chars = [pick(UPPER), pick(LOWER), pick(DIGITS), pick(SYMBOLS)];
  while (chars.length < PASSWORD_LENGTH) chars.push(pick(ALL));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = Number(crypto.getRandomValues(new Uint32Array(1))[0]) % (i + 1);
    [chars[i], chars[j]] = [chars[j] ?? "", chars[i] ?? ""];
  }
  return chars.join("");
}

export function builtinTenant(frontendUrlTemplate: string, instanceId: string): IssuedTenant {
  return {
    frontendUrl: frontendUrlTemplate.replaceAll("{instanceId}", encodeURIComponent(instanceId)),
    adminUserName: `admin-${instanceId.slice(0, 8)}`,
    adminPassword: strongPassword(),
  };
}
