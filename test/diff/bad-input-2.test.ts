/** Bad command lines, second half (see bad-input-rows.ts). */
import { describeHalf } from './bad-input-rows';

describeHalf(1);
