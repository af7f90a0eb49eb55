// The only user of "document": elements looked up once, each written only when its value changes.
import document from "document";
import { FaceView } from "./face";

type Writer = (value: string | number | boolean) => void;

/** The few element properties the face writes (text, rect and arc elements). */
interface FaceElement {
  text: string;
  width: number;
  sweepAngle: number;
  style: { fill: string; display: string };
}

function el(id: string): FaceElement {
  const e = document.getElementById(id);
  if (!e) throw new Error("missing element #" + id); // a view/code mismatch: fail at start, not later
  return e as unknown as FaceElement;
}

function text(id: string): Writer {
  const e = el(id);
  return function (v) {
    e.text = String(v);
  };
}
function width(id: string): Writer {
  const e = el(id);
  return function (v) {
    e.width = v as number;
  };
}
function shown(id: string): Writer {
  const e = el(id);
  return function (v) {
    e.style.display = v ? "inline" : "none";
  };
}

export interface Ui {
  draw: (view: FaceView) => number;
}

export function createUi(): Ui {
  const arc = el("steps-arc");
  const bar = el("bat-bar");
  const writers: { [K in keyof FaceView]: Writer } = {
    time: text("time"),
    ampm: text("ampm"),
    date: text("date"),
    batText: text("bat-text"),
    batLeft: text("bat-left"),
    batWidth: width("bat-bar"),
    batFill: function (v) {
      bar.style.fill = String(v);
    },
    charging: shown("bat-state"),
    steps: text("steps-text"),
    stepsSweep: function (v) {
      arc.sweepAngle = v as number;
    },
    dist: text("dist-text"),
    distW: width("dist-bar"),
    cal: text("cal-text"),
    calW: width("cal-bar"),
    floorsShown: shown("floors-group"),
    floors: text("floors-text"),
    floorsW: width("floors-bar"),
    azm: text("azm-text"),
    azmW: width("azm-bar"),
    link: text("link-text"),
    result: text("res-text"),
  };
  let last: { [k: string]: string | number | boolean } = {};
  return {
    /** returns how many elements were written */
    draw: function (view) {
      let writes = 0;
      for (const k in writers) {
        const key = k as keyof FaceView;
        if (last[key] !== view[key]) {
          writers[key](view[key]);
          last[key] = view[key];
          writes++;
        }
      }
      return writes;
    },
  };
}
