// Type coercions a mapping names with `type:`. Each has a forward form (canonical → target) and
// a reverse form (target → canonical); a value that cannot be coerced is an error with a
// message in our words, never a silent null.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

export const COERCIONS = ['string', 'integer', 'number', 'boolean', 'date', 'datetime', 'money-decimal', 'money-minor', 'phone-e164', 'email', 'upper', 'lower'] as const;
export type CoercionName = (typeof COERCIONS)[number];

export interface CoercionOptions {
  /** IANA zone for `date` (the calendar day in that zone); default UTC. */
  zone?: string;
  /** Default country for `phone-e164`; default US. */
  country?: string;
  /** Currency for reversing `money-decimal` when the target has none; default USD. */
  currency?: string;
}

export class CoercionError extends Error {}

/** Minor-unit exponents that differ from 2 (ISO 4217). */
const EXPONENT: Record<string, number> = { JPY: 0, KRW: 0, VND: 0, CLP: 0, ISK: 0, HUF: 2, BHD: 3, KWD: 3, OMR: 3, JOD: 3, TND: 3 };
const exponent = (currency: string) => EXPONENT[currency] ?? 2;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const dayFormats = new Map<string, Intl.DateTimeFormat>();
function dayIn(date: Date, zone: string): string {
  if (zone === 'UTC') return date.toISOString().slice(0, 10);
  let f = dayFormats.get(zone);
  if (!f) dayFormats.set(zone, (f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  const parts = f.formatToParts(date);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

export type Coerce = (v: unknown) => unknown;

export function forward(name: CoercionName, o: CoercionOptions = {}): Coerce {
  switch (name) {
    case 'string':
      return (v) => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : fail('must be text'));
    case 'integer':
      return (v) => {
        const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
        return typeof n === 'number' && Number.isInteger(n) ? n : fail('must be a whole number');
      };
    case 'number':
      return (v) => {
        const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
        return typeof n === 'number' && Number.isFinite(n) ? n : fail('must be a number');
      };
    case 'boolean':
      return (v) => (typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : fail('must be true or false'));
    case 'date': {
      const zone = o.zone ?? 'UTC';
      return (v) => {
        if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
        const d = typeof v === 'string' ? new Date(v) : undefined;
        return d && !Number.isNaN(d.getTime()) ? dayIn(d, zone) : fail('must be a date');
      };
    }
    case 'datetime':
      return (v) => {
        if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(v)) return fail('must be a date-time with a zone');
        const d = new Date(v);
        return Number.isNaN(d.getTime()) ? fail('must be a valid date-time') : d.toISOString();
      };
    case 'money-decimal':
      return (v) => {
        const m = v as { amount?: unknown; currency?: unknown };
        if (!m || typeof m !== 'object' || !Number.isInteger(m.amount) || typeof m.currency !== 'string') return fail('must be money { amount (minor units), currency }');
        const e = exponent(m.currency);
        return Number(((m.amount as number) / 10 ** e).toFixed(e));
      };
    case 'money-minor': {
      const currency = o.currency ?? 'USD';
      return (v) => {
        const n = typeof v === 'string' ? Number(v) : v;
        if (typeof n !== 'number' || !Number.isFinite(n)) return fail('must be a decimal amount');
        return { amount: Math.round(n * 10 ** exponent(currency)), currency };
      };
    }
    case 'phone-e164': {
      const country = (o.country ?? 'US') as CountryCode;
      return (v) => {
        const p = typeof v === 'string' ? parsePhoneNumberFromString(v, country) : undefined;
        return p?.isValid() ? p.number : fail('must be a valid phone number');
      };
    }
    case 'email':
      return (v) => {
        if (typeof v !== 'string') return fail('must be an email address');
        const t = v.trim();
        const at = t.lastIndexOf('@');
        const e = at > 0 ? `${t.slice(0, at)}@${t.slice(at + 1).toLowerCase()}` : t;
        return EMAIL.test(e) ? e : fail('must be an email address');
      };
    case 'upper':
      return (v) => (typeof v === 'string' ? v.toUpperCase() : fail('must be text'));
    case 'lower':
      return (v) => (typeof v === 'string' ? v.toLowerCase() : fail('must be text'));
  }
}

/** The coercion that undoes `name`, for reverse mappings; undefined when it cannot be undone. */
export function reverse(name: CoercionName, o: CoercionOptions = {}): Coerce | undefined {
  switch (name) {
    case 'money-decimal':
      return forward('money-minor', o);
    case 'money-minor':
      return forward('money-decimal', o);
    case 'date':
    case 'upper':
    case 'lower':
      return undefined; // lossy: the original time or case is gone
    case 'phone-e164':
    case 'email':
    case 'datetime':
    case 'string':
    case 'integer':
    case 'number':
    case 'boolean':
      // Normalizing again is the inverse here, and it turns text from XML or CSV into values.
      return forward(name, o);
  }
}

function fail(message: string): never {
  throw new CoercionError(message);
}
