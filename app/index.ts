import { startWatch } from "./watch";

startWatch();
