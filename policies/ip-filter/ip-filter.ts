// ip-filter: CIDR allow and deny lists on the client address (the socket peer, or the first
// untrusted hop when trusted proxies are configured). Deny wins; a non-empty allow list admits
// only its ranges. Emits GW_IP_DENIED (403).
//
//   - policy: ip-filter
//     config: { allow: [10.0.0.0/8, "::1/128"], deny: [10.6.6.0/24] }
import ipaddr from 'ipaddr.js';
import { GatewayError } from '../errors.ts';
import { definePolicy } from '../contract.ts';

interface IpFilterConfig {
  allow: string[];
  deny: string[];
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

function parseRange(cidr: string): Range {
  return cidr.includes('/') ? ipaddr.parseCIDR(cidr) : [ipaddr.parse(cidr), ipaddr.parse(cidr).kind() === 'ipv4' ? 32 : 128];
}

export function isCidr(s: string): boolean {
  try {
    parseRange(s);
    return true;
  } catch {
    return false;
  }
}

function inAny(addr: ipaddr.IPv4 | ipaddr.IPv6, ranges: Range[]): boolean {
  return ranges.some((r) => r[0].kind() === addr.kind() && addr.match(r));
}

export const ipFilterPolicy = definePolicy<IpFilterConfig>({
  name: 'ip-filter',
  phase: 'pre',
  description: 'Allows or denies client addresses by CIDR range.',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      allow: { type: 'array', items: { type: 'string', format: 'cidr' }, default: [], description: 'Ranges admitted; empty admits all not denied.' },
      deny: { type: 'array', items: { type: 'string', format: 'cidr' }, default: [], description: 'Ranges refused.' },
    },
  },
  create(config) {
    const allow = config.allow.map(parseRange);
    const deny = config.deny.map(parseRange);
    return function ipFilter(ctx) {
      let addr: ipaddr.IPv4 | ipaddr.IPv6;
      try {
        addr = ipaddr.process(ctx.clientIp);
      } catch {
        throw new GatewayError('GW_IP_DENIED');
      }
      if (inAny(addr, deny) || (allow.length > 0 && !inAny(addr, allow))) throw new GatewayError('GW_IP_DENIED');
    };
  },
});
