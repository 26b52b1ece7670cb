// Rule title and summary templates. Vigil's own `{{labels.pool}}`, `{{value}}`,
// `{{appliance.serial}}`, `{{component}}`, and the Prometheus forms imported rule files use:
// `{{ $labels.pool }}`, `{{ $value }}`, pipelines and the calls `humanize`,
// `humanizePercentage`, `humanizeDuration`, `printf` (Prometheus template reference,
// https://prometheus.io/docs/prometheus/latest/configuration/template_reference/).
// Anything else renders empty, never an error: a title must always render.

export interface TemplateInput {
  labels: Record<string, string>;
  value: number | null;
  appliance?: object;
  component?: string | null;
}

/** Go's `%.4g`: four significant digits, trailing zeros dropped, exponent as `e+06`. */
function goG4(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(4)))));
  if (exp < -4 || exp >= 4) {
    const [mantissa, e] = v.toExponential(3).split('e') as [string, string];
    const m = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
    const n = Number(e);
    return `${m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const fixed = v.toFixed(Math.max(0, 3 - exp));
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

/** Prometheus `humanize`: SI prefix (k, M, G … / m, u, n …) and four significant digits: 1234567 → "1.235M". */
export function humanize(value: number): string {
  let v = value;
  if (v === 0 || !Number.isFinite(v)) return goG4(v);
  if (Math.abs(v) >= 1) {
    let prefix = '';
    for (const p of ['k', 'M', 'G', 'T', 'P', 'E', 'Z', 'Y']) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return `${goG4(v)}${prefix}`;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${goG4(v)}${prefix}`;
}

/** Prometheus `humanizePercentage`: a ratio as a percentage, 0.953 → "95.3%". */
export function humanizePercentage(value: number): string {
  return `${goG4(value * 100)}%`;
}

/** Prometheus `humanizeDuration`: seconds as "2d 1h 59m 59s", "3m 5s", "12.5s", "250ms". */
export function humanizeDuration(value: number): string {
  let v = value;
  if (!Number.isFinite(v)) return goG4(v);
  if (v === 0) return '0s';
  if (Math.abs(v) >= 1) {
    let sign = '';
    if (v < 0) {
      sign = '-';
      v = -v;
    }
    const duration = Math.trunc(v);
    const seconds = duration % 60;
    const minutes = Math.trunc(duration / 60) % 60;
    const hours = Math.trunc(duration / 3600) % 24;
    const days = Math.trunc(duration / 86_400);
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${goG4(v)}s`;
  }
  let prefix = '';
  for (const p of ['m', 'u', 'n', 'p', 'f', 'a', 'z', 'y']) {
    if (Math.abs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return `${goG4(v)}${prefix}s`;
}

/** A plain rendering of a value in a title: integers as they are, others to three decimals. */
export function formatValue(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Math.round(v * 1000) / 1000);
}

/** Go's fmt verbs `%s %v %d %f %.Nf %g %.Ng %e %%` applied to arguments. */
function printf(format: string, args: unknown[]): string {
  let i = 0;
  return format.replace(/%(\.(\d+))?([sdvfge%])/g, (_m, _p, precision: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    const arg = args[i++];
    const n = typeof arg === 'number' ? arg : Number(arg);
    switch (verb) {
      case 'd':
        return Number.isFinite(n) ? String(Math.trunc(n)) : String(arg);
      case 'f':
        return Number.isFinite(n) ? n.toFixed(precision === undefined ? 6 : Number(precision)) : String(arg);
      case 'e':
        return Number.isFinite(n) ? n.toExponential(precision === undefined ? 6 : Number(precision)) : String(arg);
      case 'g':
        return Number.isFinite(n) ? (precision === undefined ? String(n) : String(Number(n.toPrecision(Math.max(1, Number(precision)))))) : String(arg);
      default:
        return typeof arg === 'number' ? formatValue(arg) : String(arg ?? '');
    }
  });
}

const functions: Record<string, (args: unknown[]) => unknown> = {
  humanize: ([v]) => humanize(Number(v)),
  humanizePercentage: ([v]) => humanizePercentage(Number(v)),
  humanizeDuration: ([v]) => humanizeDuration(Number(v)),
  printf: ([f, ...rest]) => printf(String(f ?? ''), rest),
  toUpper: ([s]) => String(s ?? '').toUpperCase(),
  toLower: ([s]) => String(s ?? '').toLowerCase(),
};

/** Splits a pipeline stage into words, keeping quoted strings whole. */
function words(text: string): string[] {
  return [...text.matchAll(/"((?:[^"\\]|\\.)*)"|`([^`]*)`|(\S+)/g)].map((m) => (m[1] !== undefined ? `"${m[1]}` : m[2] !== undefined ? `"${m[2]}` : m[3]!));
}

function operand(word: string, input: TemplateInput): unknown {
  if (word.startsWith('"')) return word.slice(1).replace(/\\(.)/g, '$1');
  if (/^-?\d+(\.\d+)?$/.test(word)) return Number(word);
  const path = word.replace(/^\$/, '').replace(/^\./, '');
  const [head, ...rest] = path.split('.');
  const tail = rest.join('.');
  switch (head) {
    case 'labels':
    case 'Labels':
      return tail ? (input.labels[tail] ?? '') : '';
    case 'value':
    case 'Value':
      return input.value;
    case 'component':
      return input.component ?? '';
    case 'appliance': {
      if (!tail || !input.appliance) return '';
      const v = (input.appliance as Record<string, unknown>)[tail];
      return v === null || v === undefined ? '' : v;
    }
    default:
      return undefined;
  }
}

function render(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return formatValue(value);
  return String(value);
}

function evaluateAction(action: string, input: TemplateInput): string {
  let current: unknown;
  let first = true;
  for (const stage of action.split('|').map((s) => s.trim())) {
    const [head, ...args] = words(stage);
    if (head === undefined) return '';
    const fn = functions[head];
    if (fn) {
      const values = args.map((a) => operand(a, input));
      if (!first) values.push(current);
      if (values.some((v) => v === null || v === undefined)) return '';
      current = fn(values);
    } else {
      if (!first || args.length) return '';
      current = operand(head, input);
    }
    first = false;
  }
  return render(current);
}

/** Renders a rule's title or summary template; unknown names render empty. */
export function renderTemplate(template: string, input: TemplateInput): string {
  return template.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (_m, action: string) => evaluateAction(action, input));
}
