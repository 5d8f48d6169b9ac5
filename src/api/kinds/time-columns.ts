/** Time as OpenShift's `get` tables print it for builds and image streams. */

/** Docker's `units.HumanDuration`, which `oc` uses: `About a minute`, `3 hours`, `2 weeks`. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(minutes / 60);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/** `2 minutes ago`, or '' without a (valid) timestamp. */
export function timeAgo(timestamp: string | undefined, now: Date): string {
  if (!timestamp) return '';
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return '';
  return `${humanDuration(Math.max(0, now.getTime() - t))} ago`;
}

/** Go's `time.Duration.String()` for whole seconds: `45s`, `1m12s`, `2h0m5s`. */
export function goDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
