import { Status } from '../ctnetlink/status';

/** The status names of `-u`, and their bits. */
export const STATUS_KEYWORDS: readonly (readonly [string, number])[] = [
  ['ASSURED', Status.ASSURED], ['SEEN_REPLY', Status.SEEN_REPLY], ['UNSET', 0],
  ['FIXED_TIMEOUT', Status.FIXED_TIMEOUT], ['EXPECTED', Status.EXPECTED], ['OFFLOAD', Status.OFFLOAD],
  ['HW_OFFLOAD', Status.HW_OFFLOAD],
];
