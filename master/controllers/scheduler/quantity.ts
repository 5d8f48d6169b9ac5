/**
 * Kubernetes resource quantities (`500m`, `1.5`, `128Mi`, `1e3`, `2G`), read exactly with
 * bigint arithmetic and rounded up like resource.Quantity's Value and MilliValue.
 *
 * Private to the scheduler for now; it belongs in src/api once the API has its own
 * quantity type, and then this file should go.
 */

const binary: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
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

const pattern = /^([+-]?)(\d+\.?\d*|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

/** value = sign * digits * 2^pow2 * 10^pow10 */
interface Exact {
  negative: boolean;
  digits: bigint;
  pow2: number;
  pow10: number;
}

function parse(quantity: string | number): Exact | undefined {
  const text = typeof quantity === 'number' ? String(quantity) : quantity.trim();
  const m = pattern.exec(text);
  if (!m) return undefined;
  const [, sign = '', number = '', exponent, suffix = ''] = m;
  const [whole = '', fraction = ''] = number.split('.');
  let pow10 = -fraction.length;
  let pow2 = 0;
  if (exponent !== undefined) pow10 += Number(exponent.slice(1));
  else if (suffix in binary) pow2 = binary[suffix]!;
  else pow10 += decimal[suffix] ?? 0;
  return { negative: sign === '-', digits: BigInt(`${whole}${fraction}` || '0'), pow2, pow10 };
}

/** The quantity times 10^scale, rounded up (towards +infinity); undefined when malformed. */
function scaled(quantity: string | number, scale: number): number | undefined {
  const q = parse(quantity);
  if (!q) return undefined;
  let numerator = q.digits * 2n ** BigInt(q.pow2);
  let denominator = 1n;
  const pow10 = q.pow10 + scale;
  if (pow10 >= 0) numerator *= 10n ** BigInt(pow10);
  else denominator = 10n ** BigInt(-pow10);
  let result = numerator / denominator;
  const exact = result * denominator === numerator;
  if (q.negative) result = -result;
  else if (!exact) result += 1n;
  return Number(result);
}

/** Whole units, rounded up: bytes for memory, a count for pods. */
export function quantityValue(quantity: string | number): number | undefined {
  return scaled(quantity, 0);
}

/** Thousandths, rounded up: millicores for cpu. */
export function quantityMilliValue(quantity: string | number): number | undefined {
  return scaled(quantity, 3);
}
