/**
 * Kubernetes resource quantities (`128Mi`, `1G`, `500m`, `0.25`, `1e3`), parsed exactly.
 *
 * Grammar (apimachinery `resource.Quantity`):
 *   quantity ::= [+-] number suffix
 *   number   ::= digits | digits "." digits? | "." digits
 *   suffix   ::= "" | binarySI (Ki Mi Gi Ti Pi Ei) | decimalSI (n u m k M G T P E)
 *              | ("e" | "E") [+-] digits
 * Values are kept as exact fractions (BigInt), so `0.1` CPU is 100000000 nanocores, not
 * 100000000.00000001; conversions to integers round up, as Kubernetes does.
 */

export class QuantityError extends Error {
  readonly input: string;

  constructor(input: string, why: string) {
    super(
      `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': "${input}" (${why})`,
    );
    this.name = 'QuantityError';
    this.input = input;
  }
}

/** An exact rational value: numerator / denominator, denominator > 0. */
export interface Quantity {
  readonly num: bigint;
  readonly den: bigint;
}

const binary: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};

/** Decimal SI suffixes as powers of ten. */
const decimal: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

const quantityRe = /^([+-]?)(\d+\.?\d*|\.\d+)(.*)$/;
const exponentRe = /^[eE]([+-]?\d+)$/;
/** Exponents beyond this are refused rather than turned into enormous BigInts. */
const MAX_EXPONENT = 64;

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

function make(num: bigint, den: bigint): Quantity {
  return { num, den };
}

/** Parses a quantity; throws QuantityError with the offending input when it is not one. */
export function parseQuantity(input: string | number): Quantity {
  const text = typeof input === 'number' ? numberText(input) : input.trim();
  const m = quantityRe.exec(text);
  if (!m) throw new QuantityError(String(input), 'not a number');
  const [, sign = '', digits = '', suffix = ''] = m;
  const [whole = '', frac = ''] = digits.split('.');
  let num = BigInt((whole || '0') + frac);
  let den = pow10(frac.length);
  if (sign === '-') num = -num;

  const b = binary[suffix];
  if (b !== undefined) return make(num * b, den);
  const d = decimal[suffix];
  let exp: number;
  if (d !== undefined) {
    exp = d;
  } else {
    const e = exponentRe.exec(suffix);
    if (!e) throw new QuantityError(String(input), `unknown suffix "${suffix}"`);
    exp = Number(e[1]);
    if (Math.abs(exp) > MAX_EXPONENT)
      throw new QuantityError(String(input), 'exponent out of range');
  }
  if (exp >= 0) num *= pow10(exp);
  else den *= pow10(-exp);
  return make(num, den);
}

/** `1e21` stays `1e+21` in String(); that is still a valid quantity. */
function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new QuantityError(String(n), 'not a finite number');
  return String(n);
}

/** The smallest integer >= value * scale. */
export function ceilScaled(q: Quantity, scale: bigint = 1n): bigint {
  const n = q.num * scale;
  const whole = n / q.den;
  return n % q.den > 0n ? whole + 1n : whole;
}

/** Returns the value as a JavaScript number (may lose precision for huge values). */
export function quantityToNumber(q: Quantity): number {
  return Number(q.num) / Number(q.den);
}

export function isNegative(q: Quantity): boolean {
  return q.num < 0n;
}

function toSafeInteger(value: bigint, input: string | number, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new QuantityError(String(input), `${what} too large`);
  }
  return Number(value);
}

/** Memory quantity in bytes, rounded up: `128Mi` -> 134217728, `1G` -> 1000000000. */
export function memoryBytes(input: string | number): number {
  const q = parseQuantity(input);
  if (isNegative(q)) throw new QuantityError(String(input), 'must not be negative');
  return toSafeInteger(ceilScaled(q), input, 'memory');
}

/** CPU quantity in nano-CPUs (Docker's NanoCpus), rounded up: `500m` -> 500000000. */
export function cpuNanos(input: string | number): number {
  const q = parseQuantity(input);
  if (isNegative(q)) throw new QuantityError(String(input), 'must not be negative');
  return toSafeInteger(ceilScaled(q, 1_000_000_000n), input, 'cpu');
}

/** CPU quantity in millicores, rounded up: `0.25` -> 250, `1` -> 1000. */
export function cpuMillis(input: string | number): number {
  const q = parseQuantity(input);
  if (isNegative(q)) throw new QuantityError(String(input), 'must not be negative');
  return toSafeInteger(ceilScaled(q, 1000n), input, 'cpu');
}

/** value / divisor rounded up, as the downward API reports resources (`limits.memory` in `Mi`). */
export function divideCeil(value: string | number, divisor: string | number): number {
  const v = parseQuantity(value);
  const d = parseQuantity(divisor);
  if (d.num <= 0n) throw new QuantityError(String(divisor), 'divisor must be positive');
  // (v.num / v.den) / (d.num / d.den) = (v.num * d.den) / (v.den * d.num)
  return toSafeInteger(ceilScaled(make(v.num * d.den, v.den * d.num)), value, 'value');
}

/** Whole units rounded up (bytes, a pod count), or undefined for a malformed or negative quantity. */
export function quantityUnits(input: string | number): number | undefined {
  try {
    return memoryBytes(input);
  } catch {
    return undefined;
  }
}

/** Thousandths rounded up (millicores), or undefined for a malformed or negative quantity. */
export function quantityMillis(input: string | number): number | undefined {
  try {
    return cpuMillis(input);
  } catch {
    return undefined;
  }
}
