// Hardware task switching (TSS-based): JMP/CALL to a TSS or task gate,
// IRET with NT set, and task gates in the IDT (how #DF is usually handled).
import { setExit, setExitField, EXIT_UNIMPLEMENTED, X_DETAIL } from "../exit";
import { requestRestart } from "../fault";

export const TASK_SWITCH_JMP: i32 = 0;
export const TASK_SWITCH_CALL: i32 = 1;
export const TASK_SWITCH_IRET: i32 = 2;
export const TASK_SWITCH_INT: i32 = 3;

/** Switch to the task whose TSS selector is `sel`. */
export function taskSwitch(sel: i32, reason: i32, retEip: i32, ext: i32): void {
  setExit(EXIT_UNIMPLEMENTED, sel, reason, retEip + ext * 0);
  setExitField(X_DETAIL, 3); // hardware task switch
  requestRestart();
}
