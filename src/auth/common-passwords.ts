/**
 * A small embedded blocklist (docs/auth.md §passwords). Passwords shorter than 12 characters are
 * refused by length already, so the first list holds common passwords of 12+ characters as they
 * appear in public breach-frequency lists; the second holds the words most often decorated with
 * digits and symbols to reach a length rule ("Password2024!", "Welcome12345"). Both lower-case.
 */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set([
  '123456789012', '1234567890123', '12345678901234', '123456123456', '123123123123', '111111111111',
  '000000000000', '123456654321', '147258369147', '987654321098', '1q2w3e4r5t6y', 'q1w2e3r4t5y6',
  '1qaz2wsx3edc', 'zaq12wsxcde3', 'qwerty123456', '123456qwerty', 'qwertyuiop12', 'qwertyuiop123',
  'asdfghjkl123', 'password1234', 'password12345', 'password123456', 'passw0rd1234', 'p@ssw0rd1234',
  'p@ssword1234', 'password!123', 'iloveyou1234', 'iloveyou123456', 'letmein12345', 'welcome12345',
  'welcome123456', 'changeme1234', 'changeme12345', 'administrator', 'administrator1', 'admin1234567',
  'adminadmin123', 'trustno11234', 'sunshine1234', 'football1234', 'baseball1234', 'basketball12',
  'princess1234', 'superman1234', 'starwars1234', 'monkey123456', 'dragon123456', 'master123456',
  'shadow123456', 'michael12345', 'jennifer1234', 'computer1234', 'internet1234', 'whatever1234',
  'qwertyqwerty', 'asdfasdfasdf', 'abcabcabcabc', 'abc123abc123', 'passwordpassword', 'myspace12345',
  'liverpool123', 'chelsea12345', 'arsenal12345', 'manchester12', 'thequickbrownfox', 'correcthorsebatterystaple',
  'correct horse battery staple', 'hipaa1234567', 'hipaacompliance', 'healthcare123', 'hospital1234',
  'doctor123456', 'nurse1234567', 'patient12345', 'medical12345', 'summer2024!!', 'winter2024!!',
  'spring2024!!', 'autumn2024!!', 'january2024!', 'december2024', 'qazwsxedcrfv', 'zxcvbnm12345',
  'zxcvbnmasdfg', '1234567890qwerty', '1234qwerasdf', 'qwer1234asdf', 'aaaaaaaaaaaa1', 'abcdefg12345',
  'abcd1234abcd', 'a1b2c3d4e5f6', 'iloveyouforever', 'loveyouforever', 'godblessyou1', 'jesuschrist1',
]);

export const COMMON_BASE_WORDS: ReadonlySet<string> = new Set([
  'password', 'passwort', 'pass', 'passw', 'pwd', 'qwerty', 'qwertz', 'azerty', 'asdf', 'asdfgh', 'zxcvbn', 'qwer',
  'qaz', 'qazwsx', 'wsx', 'admin', 'administrator', 'root', 'user', 'guest', 'login', 'welcome', 'letmein',
  'changeme', 'secret', 'default', 'test', 'tester', 'testing', 'demo', 'iloveyou', 'love', 'lovely',
  'sunshine', 'princess', 'dragon', 'monkey', 'master', 'shadow', 'football', 'baseball', 'soccer',
  'hockey', 'batman', 'superman', 'starwars', 'pokemon', 'michael', 'jennifer', 'jordan', 'hunter',
  'ranger', 'buster', 'thomas', 'robert', 'charlie', 'daniel', 'computer', 'internet', 'whatever',
  'freedom', 'trustno', 'abc', 'abcd', 'abcdef', 'abcdefg', 'summer', 'winter', 'spring', 'autumn',
  'january', 'february', 'march', 'april', 'june', 'july', 'august', 'september', 'october', 'november',
  'december', 'monday', 'friday', 'hello', 'helloworld', 'killer', 'cheese', 'pepper', 'ginger',
  'hipaa', 'health', 'healthcare', 'hospital', 'clinic', 'doctor', 'nurse', 'patient', 'medical',
  'company', 'office', 'compliance', 'security', 'pa', 'p', 'a', 'aa', 'aaa', 'x', 'xx', 'xxx',
]);
