// Opens an embedded store in a separate process and reports what happened, for the lock tests.
import { openDatabase } from '../../src/index.js';

const url = process.argv[2] as string;
try {
  const db = await openDatabase(url);
  await db.close();
  console.log(JSON.stringify({ opened: true }));
} catch (error) {
  console.log(JSON.stringify({ opened: false, code: (error as { code?: string }).code, message: String(error) }));
}
