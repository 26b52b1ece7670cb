/**
 * The Content-Security-Policy of the self-contained HTML documents Vigil serves (health
 * reports, RCA documents): inline styles and data: images only; no script, frame, form or
 * remote fetch, so text a customer or an appliance wrote can never run as code.
 */
export const DOCUMENT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
