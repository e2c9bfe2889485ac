export {
  createMembership,
  type Membership,
  type MembershipLinks,
  type MembershipOptions,
  type MembershipRejectReason,
  type MembershipTimers,
} from './membership.ts';
export type { MemberRecord } from './member-record.ts';
export type { MemberStatus, PresenceChannel, PresenceEvents, PresenceState } from './presence-channel.ts';
export type { PhiOptions } from './phi.ts';
