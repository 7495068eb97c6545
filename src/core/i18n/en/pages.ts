/** Hosted page strings (English, the reference catalog). */
export const pages = {
  signIn: "Sign in",
};
