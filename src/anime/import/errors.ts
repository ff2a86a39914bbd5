/** A problem with the input that stops the import; its message is meant for the person running it. */
export class ImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImportError";
  }
}
