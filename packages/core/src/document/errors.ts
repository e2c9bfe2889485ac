/** A member was requested under a name that already holds a member of another type. */
export class MemberTypeError extends Error {
  readonly member: string;
  readonly existing: string;
  readonly requested: string;

  constructor(member: string, existing: string, requested: string) {
    super(`member "${member}" is a ${existing}, not a ${requested}`);
    this.name = 'MemberTypeError';
    this.member = member;
    this.existing = existing;
    this.requested = requested;
  }
}

/** Invalid options or arguments given to a Document. */
export class DocumentArgumentError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'DocumentArgumentError';
  }
}
