/** Mail strings (English, the reference catalog). */
export const mail = {
  footer: "You received this message because of a request made with this address.",
};
