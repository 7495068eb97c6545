/** Worker entry: the handlers over the system clock (tests build their own with a movable one). */
import { createWorker } from "./worker";

export default createWorker();
