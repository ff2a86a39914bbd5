// How a username is looked up: NFC and lower case ("login matches it ignoring case"). The account
// feature keeps it in users.username_key; the public lists find their owner by it.
export function usernameKey(username: string): string {
  return username.normalize("NFC").toLowerCase();
}
