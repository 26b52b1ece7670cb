/**
 * The canonical text of a label set: `name=value` pairs sorted by name, joined by
 * `\u001f` (a separator that cannot appear in a label name). With the appliance and the
 * metric it identifies a series (`series.labels_key`).
 */
export function labelsKey(labels: Record<string, string>): string {
  const names = Object.keys(labels);
  if (names.length === 0) return '';
  if (names.length > 1) names.sort();
  let key = '';
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (i > 0) key += '\u001f';
    key += `${name}=${labels[name]}`;
  }
  return key;
}
