// The Bluetooth link to the watch: the only importer of "messaging". The core gets a socket as an
// argument (createLink), so tests and the simulation hand in their own linked fakes.
import { peerSocket } from "messaging";
import { isWatchMsg, PhoneMsg, WatchMsg } from "../common/protocol";
import { SocketLike } from "./host";

export const hostSocket: SocketLike = peerSocket;

export interface Link {
  isOpen(): boolean;
  /** false when the link is closed or the send failed (the message is not queued) */
  send(msg: PhoneMsg): boolean;
  close(): void;
}

export function createLink(
  socket: SocketLike,
  on: { message(msg: WatchMsg): void; open(): void },
): Link {
  const onMessage = (e: { data?: unknown }) => {
    if (e && isWatchMsg(e.data)) on.message(e.data);
  };
  const onOpen = () => on.open();
  socket.addEventListener("message", onMessage);
  socket.addEventListener("open", onOpen);
  function isOpen(): boolean {
    return socket.readyState === socket.OPEN;
  }
  return {
    isOpen: isOpen,
    send(msg) {
      if (!isOpen()) return false;
      try {
        socket.send(msg);
        return true;
      } catch (e) {
        return false; // BUFFER_FULL or closed between the check and the send
      }
    },
    close() {
      socket.removeEventListener("message", onMessage);
      socket.removeEventListener("open", onOpen);
    },
  };
}
