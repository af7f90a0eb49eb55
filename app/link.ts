// The only user of "messaging": the socket to the companion.
import { peerSocket } from "messaging";
import { messageSize } from "../common/watch-messages";

export interface Link {
  isOpen: () => boolean;
  /** true when handed to the socket; never throws */
  send: (msg: unknown) => boolean;
  stop: () => void;
}

export function openLink(handlers: {
  onOpen: () => void;
  onClose: () => void;
  onMessage: (data: unknown) => void;
}): Link {
  const open = function (): void {
    handlers.onOpen();
  };
  const close = function (): void {
    handlers.onClose();
  };
  const message = function (evt: { data: unknown }): void {
    handlers.onMessage(evt.data);
  };
  const error = function (): void {
    // BUFFER_FULL: what was not sent stays in the outbox for the next open
  };
  peerSocket.addEventListener("open", open);
  peerSocket.addEventListener("close", close);
  peerSocket.addEventListener("message", message);
  peerSocket.addEventListener("error", error);

  function isOpen(): boolean {
    return peerSocket.readyState === peerSocket.OPEN;
  }
  return {
    isOpen: isOpen,
    send: function (msg) {
      if (!isOpen()) return false;
      // read at run time: the limit is not documented
      if (messageSize(msg) > peerSocket.MAX_MESSAGE_SIZE - peerSocket.bufferedAmount) return false;
      try {
        peerSocket.send(msg);
        return true;
      } catch (e) {
        return false;
      }
    },
    stop: function () {
      peerSocket.removeEventListener("open", open);
      peerSocket.removeEventListener("close", close);
      peerSocket.removeEventListener("message", message);
      peerSocket.removeEventListener("error", error);
    },
  };
}
