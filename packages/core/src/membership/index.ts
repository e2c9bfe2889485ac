export {
  createMembership,
  type Membership,
  type MembershipLinks,
  type MembershipOptions,
  type MembershipRejectReason,
  type MembershipTimers,
} from './membership.ts';
export type { MemberRecord } from './member-record.ts';
export {
  decodeFrame as decodeMembershipFrame,
  encodeFrame as encodeMembershipFrame,
  type MembershipFrame,
} from './frames.ts';
export type { MemberStatus, PresenceChannel, PresenceState } from './presence-channel.ts';
export { createPhiDetector, defaultPhiOptions, type PhiDetector, type PhiOptions } from './phi.ts';
