import { MeshworkError } from '../meshwork-error.ts';

/** A member was requested under a name that already holds a member of another type. */
export class MemberTypeError extends MeshworkError {
  override readonly name = 'MemberTypeError';
  readonly member: string;
  readonly existing: string;
  readonly requested: string;

  constructor(member: string, existing: string, requested: string) {
    super('member_type_conflict', `member "${member}" is a ${existing}, not a ${requested}`, {
      field: member,
    });
    this.member = member;
    this.existing = existing;
    this.requested = requested;
  }
}

/** Invalid options or arguments given to a Document. */
export class DocumentArgumentError extends MeshworkError {
  override readonly name = 'DocumentArgumentError';
  constructor(message: string) {
    super('invalid_argument', message);
  }
}
