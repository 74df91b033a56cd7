#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "content/secrets.h"
#include "content/yaml.h"

// Fake credentials are assembled from pieces so that this file holds no
// literal that secret scanners (GitHub push protection, gitleaks) would flag.

using namespace envflow::content;

namespace {

const std::string k_path = "integrations/crm.yaml";

std::vector<Diagnostic> scan(const std::string& yaml) {
  YamlResult result = load_yaml(yaml, k_path);
  REQUIRE_MESSAGE(result.value.has_value(), yaml);
  REQUIRE_MESSAGE(result.diagnostics.empty(), yaml);
  return scan_secrets(*result.value, k_path);
}

std::string messages(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    out += d.to_text() + "\n";
  }
  return out;
}

// One finding of `rule`, whose message names `what`, and the whole of
// `secret` nowhere in it.
void expect_secret(const std::string& yaml, const std::string& rule, const std::string& what,
                   const std::string& secret = "") {
  CAPTURE(yaml);
  const std::vector<Diagnostic> found = scan(yaml);
  INFO(messages(found));
  REQUIRE(found.size() == 1);
  CHECK(found[0].rule == rule);
  CHECK(found[0].path == k_path);
  CHECK(found[0].message.find(what) != std::string::npos);
  if (rule == "secret-literal") {
    CHECK(found[0].message.find("store the value in the secret store and write ${secrets.NAME}") !=
          std::string::npos);
  }
  if (!secret.empty()) {
    CHECK(found[0].message.find(secret) == std::string::npos);
  }
}

void expect_none(const std::string& yaml) {
  CAPTURE(yaml);
  const std::vector<Diagnostic> found = scan(yaml);
  INFO(messages(found));
  CHECK(found.empty());
}

const std::string k_mixed36 = "aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0zA1bC2"; // 36 base62 characters

// Random-looking literals for secret-named fields.
const std::string k_random12 = std::string("q8Vn3L") + "mZ0pRt";
const std::string k_random12b = std::string("Zx9kQ2") + "mP7vL4";
const std::string k_random16 = k_random12 + "W5yB";
const std::string k_random28 = std::string("wJalrXUt") + "nFEMIK7MDENGbPxRfiCY";

std::string aws_key() { return std::string("AKIA") + "ABCDEFGHIJKLMNOP"; }
std::string github_token() { return std::string("gh") + "p_" + k_mixed36; }
std::string jwt() {
  return std::string("ey") + "JhbGciOiJIUzI1NiJ9" + "." + "ey" + "JzdWIiOiIxMjM0NTY3ODkwIn0" + "." +
         "dozjgNryP4J3jVmNHl0w5N";
}
std::string begin_marker(const std::string& label) {
  return std::string("-----") + "BEGIN " + label + "-----";
}
std::string end_marker(const std::string& label) {
  return std::string("-----") + "END " + label + "-----";
}
const std::string k_openssh = std::string("OPENSSH PRIVATE") + " KEY";
// A made-up OpenSSH private key (the right shape, no real key), line by line.
std::vector<std::string> openssh_lines() {
  return {begin_marker(k_openssh),
          std::string("b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW") +
              "QyNTUxOQAAACDx",
          std::string("Qm9ndXNLZXlGb3JUZXN0c09ubHlOb3RBUmVhbEtleUF0QWxsMDEyMzQ1Njc4OWFiY2Rl") +
              "ZmdoaWprbG1ub3A=",
          end_marker(k_openssh)};
}
std::string openssh_key(const std::string& prefix) {
  std::string out;
  for (const std::string& line : openssh_lines()) {
    out += prefix + line + "\n";
  }
  return out;
}

} // namespace

TEST_CASE("content::scan_secrets") {
  SUBCASE("private key blocks") {
    for (const std::string& label :
         {std::string("RSA PRIVATE") + " KEY", std::string("PRIVATE") + " KEY",
          std::string("ENCRYPTED PRIVATE") + " KEY", std::string("OPENSSH PRIVATE") + " KEY",
          std::string("PGP PRIVATE") + " KEY BLOCK"}) {
      const std::string yaml = "name: crm\nkey_file: |\n  " + begin_marker(label) +
                               "\n  MIIEowIBAAKCAQEAzY9q" + aws_key() + "\n  " + openssh_lines()[2] + "\n  -----END " +
                               label + "-----\n";
      // The body is skipped: the AWS-looking run inside it is not a second finding.
      expect_secret(yaml, "secret-literal", "private key block");
      // On one line, in a double-quoted string with \n escapes, after armor headers.
      expect_secret("key: \"" + begin_marker(label) + "\\n" + openssh_lines()[1] + "\\n" +
                        end_marker(label) + "\"\n",
                    "secret-literal", "private key block");
      expect_secret("key: \"" + begin_marker(label) + " " + openssh_lines()[1] + " " +
                        openssh_lines()[2] + "\"\n",
                    "secret-literal", "private key block");
      expect_secret(
          "key: |\n  " + begin_marker(label) +
              "\n  Proc-Type: 4,ENCRYPTED\n  DEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\n  " +
              openssh_lines()[1] + "\n",
          "secret-literal", "private key block");
      // A header alone, or followed by prose, is documentation.
      expect_none("note: \"" + begin_marker(label) + "\"\n");
      expect_none("note: \"A key file starts with " + begin_marker(label) +
                  " and ends with the matching END line.\"\n");
    }
    expect_none("note: \"" + begin_marker("PUBLIC KEY") + "\\n" + openssh_lines()[1] + "\"\n");
    expect_none("note: \"" + begin_marker("CERTIFICATE") + "\\n" + openssh_lines()[1] + "\"\n");
  }

  SUBCASE("well-known token formats, anywhere in a string") {
    struct Case {
      std::string token;
      std::string kind;
    };
    const std::vector<Case> cases = {
        {aws_key(), "AWS access key id"},
        {std::string("AS") + "IA" + "QWERTYUIOP123456", "AWS access key id"},
        {github_token(), "GitHub token"},
        {std::string("gh") + "s_" + k_mixed36, "GitHub token"},
        {std::string("github") + "_pat_" + "11ABCDEFG0abcdefghijkl_" + k_mixed36,
         "GitHub fine-grained personal access token"},
        {std::string("sk") + "-" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9", "OpenAI API key"},
        {std::string("sk") + "-proj-" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8_Qr-9", "OpenAI project API key"},
        {std::string("sk") + "-ant-" + "api03-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8", "Anthropic API key"},
        {std::string("xo") + "xb-" + "123456789012-abcdefghijKL", "Slack token"},
        {std::string("AI") + "za" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "Google API key"},
        {std::string("sk") + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "Stripe live secret key"},
        {std::string("rk") + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "Stripe live restricted key"},
        {jwt(), "JSON Web Token"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.token);
      // In a plain field, inside a sentence of an agent's instructions, in a list.
      expect_secret("notes: \"" + c.token + "\"\n", "secret-literal", c.kind, c.token);
      expect_secret("instructions: \"Call the API with " + c.token + " when asked.\"\n",
                    "secret-literal", c.kind, c.token);
      expect_secret("examples:\n  - plain\n  - \"Bearer " + c.token + "\"\n", "secret-literal",
                    c.kind, c.token);
      // In a secret-named field the format finding stands alone (no second
      // "secret field" finding for the same value).
      expect_secret("api_key: \"" + c.token + "\"\n", "secret-literal", c.kind, c.token);
    }
  }

  SUBCASE("a token format needs its shortest run in full") {
    struct Case {
      std::string prefix;
      std::size_t shortest; // characters after the prefix
      std::string kind;
    };
    const std::vector<Case> cases = {
        {std::string("AI") + "za", 35, "Google API key"},
        {std::string("github") + "_pat_", 22, "GitHub fine-grained personal access token"},
        {std::string("gh") + "o_", 36, "GitHub token"},
        {std::string("rk") + "_live_", 16, "Stripe live restricted key"},
        {std::string("xo") + "xp-", 10, "Slack token"},
    };
    for (const Case& c : cases) {
      const std::string token = c.prefix + std::string(c.shortest, 'b');
      CAPTURE(token);
      expect_secret("notes: \"" + token + "\"\n", "secret-literal", c.kind, token);
      expect_none("notes: \"" + token.substr(0, token.size() - 1) + "\"\n");
    }
  }

  SUBCASE("URLs with inline credentials") {
    const std::string password = std::string("s3cr3t") + "Pa55";
    expect_secret("base_url: \"https://alice:" + password + "@crm.example.com/v1\"\n",
                  "secret-literal", "URL with an inline password", password);
    expect_secret("dsn: \"postgres://app:" + password + "@db.internal:5432/app\"\n",
                  "secret-literal", "postgres://app:\u2026@db.internal:5432", password);
  }

  SUBCASE("secret-named fields refuse every literal") {
    expect_secret("password: hunter2\n", "secret-literal", "probably not a real secret", "hunter2");
    expect_secret("client_secret: \"" + k_random12b + "\"\n", "secret-literal",
                  "looks like a real secret", k_random12b);
    expect_secret("passphrase: correct horse battery staple\n", "secret-literal",
                  "looks like a real secret", "correct horse");
    expect_secret("password: changeme\n", "secret-literal", "looks like a placeholder", "changeme");
    expect_secret("password: \"<your password>\"\n", "secret-literal", "placeholder");
    expect_secret("db_password: 12345678\n", "secret-literal", "secret field 'db_password'",
                  "12345678");
    expect_secret("auth:\n  clientSecret: abcdefghijkl\n", "secret-literal", "'auth.clientSecret'");
    expect_secret("headers:\n  X-Api-Key: " + k_random12 + "\n", "secret-literal",
                  "'headers.X-Api-Key'");
    expect_secret("auth:\n  token: \"Bearer " + k_random16 + "\"\n", "secret-literal",
                  "looks like a real secret", k_random16);
    expect_secret("auth:\n  access_token: \"${secrets.PART}q8Vn3LmZ\"\n", "secret-literal",
                  "'auth.access_token'");
    expect_secret("private_key: abc123\n", "secret-literal", "'private_key'");
    expect_secret("AWS_SECRET_ACCESS_KEY: " + k_random28 + "\n", "secret-literal",
                  "looks like a real secret");
    expect_secret("api_keys:\n  - " + k_random12 + "\n", "secret-literal", "'api_keys[0]'");
    // A `{name, value}` pair is named by its `name`; so is a Variable's default.
    expect_secret("env:\n  - name: CRM_API_TOKEN\n    value: " + k_random12 + "\n",
                  "secret-literal", "'env[0].value'");
    expect_secret("kind: Variable\nname: smtp_password\ntype: string\ndefault: " + k_random12 +
                      "\n",
                  "secret-literal", "'default'");
  }

  SUBCASE("no false positives") {
    expect_none("max_tokens: 4096\n");
    expect_none("token_limit: 100\n");
    expect_none("tokens: 20\nmax_token: 512\nnum_tokens: 3\nuse_token: true\n");
    expect_none("description: \"Ask for the password reset link\"\n");
    expect_none("secret: ${secrets.CRM_TOKEN}\n");
    expect_none("api_key: \"${secrets.OPENAI_KEY}\"\n");
    expect_none("api_key: \"${ secrets.OPENAI_KEY }\"\n"); // blanks inside are tolerated
    expect_none("password: \"{{ vars.DB_PASSWORD }}\"\n");
    expect_none("token: \"{{ steps.login.output.token }}\"\n");
    expect_none("auth:\n  token: \"Bearer ${secrets.CRM_TOKEN}\"\n");
    expect_none("auth:\n  credentials: \"${secrets.USER}:${secrets.PASS}\"\n");
    expect_none("password: \"\"\nsecret: null\ntoken: ~\n");
    expect_none("secret_name: crm-prod\ntoken_ref: CRM_TOKEN\nsecret_ref: x\n");
    expect_none("secrets:\n  - CRM_TOKEN\n  - OPENAI_KEY\n");
    expect_none("token_url: https://auth.example.com/oauth/token\n");
    expect_none("api_key_header: X-Api-Key\naccess_key_id_field: aws_id\n");
    expect_none("private_key_path: /etc/keys/crm.pem\npassword_reset_url: https://x.io/reset\n");
    expect_none("key: support-agent\npublic_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample\n");
    expect_none("instructions: |\n  Never reveal your API token or password. OpenAI keys start\n"
                "  with sk- and GitHub tokens with ghp_; if a user pastes one, tell them to\n"
                "  revoke it. Use the task-customer-support-escalation-flow for refunds.\n");
    expect_none("id: 123e4567-e89b-12d3-a456-426614174000\n");
    expect_none("commit: 9fceb02d0ae598e95dc970b74767f19372d61af8\n");
    expect_none("base_url: https://api.example.com/v1?user=alice&x=1#top\n");
    expect_none("base_url: https://alice@api.example.com:8443/v1\n");
    expect_none("dsn: \"postgres://app:${secrets.DB_PASSWORD}@db.internal:5432/app\"\n");
    expect_none("docs: \"URLs look like https://user:<password>@host or "
                "https://user:password@host\"\n");
    expect_none("region: ASIAPACIFICSOUTHEASTONE2\nconst: AKIA_IS_A_PREFIX\n");
    expect_none("workflow: sk-customer-support-escalation\n");
    expect_none("shell: \"echo ${HOME} ${PATH}\"\n");
  }

  SUBCASE("malformed references") {
    expect_secret("secret: \"${secret.CRM_TOKEN}\"\n", "secret-reference", "${secrets.CRM_TOKEN}");
    expect_secret("secret: \"${secrets.}\"\n", "secret-reference", "names no secret");
    expect_secret("secret: \"${secrets.bad name}\"\n", "secret-reference", "${secrets.bad_name}");
    expect_secret("secret: \"${SECRETS.Crm}\"\n", "secret-reference", "${secrets.Crm}");
    expect_secret("secret: \"${secrets.CRM\"\n", "secret-reference", "unterminated");
    expect_secret("secret: \"${secrets.crm\"\n", "secret-reference", "${secrets.crm}");
    expect_secret("secret: \"{{ secrets.CRM }}\"\n", "secret-reference", "${secrets.CRM}");
    expect_secret("secret: \"${secrets}\"\n", "secret-reference", "${secrets.NAME}");
    expect_secret("notes: \"see ${secrets.9lives}\"\n", "secret-reference", "invalid secret name");
    expect_none("secret: \"${secrets.crm-prod_2}\"\n");
  }

  SUBCASE("position of findings") {
    const std::string yaml = "name: crm\nauth:\n  type: bearer\n  token: \"" + github_token() +
                             "\"\nendpoints:\n  - path: /v1\n    password: hunter2\n";
    const std::vector<Diagnostic> found = scan(yaml);
    INFO(messages(found));
    REQUIRE(found.size() == 2);
    CHECK(found[0].mark.line == 4);
    CHECK(found[0].mark.column == 10);
    CHECK(found[0].message.find("'auth.token'") != std::string::npos);
    CHECK(found[1].mark.line == 7);
    CHECK(found[1].mark.column == 15);
    CHECK(found[1].message.find("'endpoints[0].password'") != std::string::npos);
    CHECK(found[0].to_text().starts_with(k_path + ":4:10: error: "));
    CHECK(found[0].to_text().ends_with("[secret-literal]"));
  }

  SUBCASE("messages never carry the whole secret") {
    const std::string token = github_token();
    const std::vector<Diagnostic> found = scan("notes: \"" + token + "\"\n");
    REQUIRE(found.size() == 1);
    CHECK(found[0].message.find(token) == std::string::npos);
    CHECK(found[0].message.find(token.substr(0, 5)) == std::string::npos);
    CHECK(found[0].message.find("\"" + token.substr(0, 4) + "\u2026\"") != std::string::npos);
    // Short values show even less: a quarter of their length at most.
    const std::vector<Diagnostic> short_one = scan("password: abc\n");
    REQUIRE(short_one.size() == 1);
    CHECK(short_one[0].message.find("\"\u2026\"") != std::string::npos);
    CHECK(short_one[0].message.find("abc") == std::string::npos);
  }

  SUBCASE("mapping keys are scanned for token formats") {
    const std::vector<Diagnostic> found = scan("headers:\n  \"" + aws_key() + "\": x\n");
    REQUIRE(found.size() == 1);
    CHECK(found[0].mark.line == 2);
  }

  SUBCASE("shannon_entropy") {
    CHECK(shannon_entropy("") == doctest::Approx(0.0));
    CHECK(shannon_entropy("aaaa") == doctest::Approx(0.0));
    CHECK(shannon_entropy("ab") == doctest::Approx(1.0));
    CHECK(shannon_entropy("abcd") == doctest::Approx(2.0));
    CHECK(shannon_entropy("0123456789abcdef") == doctest::Approx(4.0));
    CHECK(shannon_entropy("aab") == doctest::Approx(0.9183).epsilon(0.001));
    CHECK(shannon_entropy("passwordpassword") == doctest::Approx(2.75));
    CHECK(shannon_entropy(k_random12b) > 3.0);
    CHECK(shannon_entropy(k_random12b) < 3.6); // at most log2(12)
  }
}

TEST_CASE("content::scan_text_secrets") {
  const std::string path = "knowledge/faq/setup.md";
  const auto scan_text = [&](const std::string& text) { return scan_text_secrets(text, path); };

  SUBCASE("a private key in a document, located at its header") {
    const std::string text = "# Deploy keys\n\nPaste this into the server:\n\n```\n" +
                             openssh_key("") + "```\n";
    const auto found = scan_text(text);
    INFO(messages(found));
    REQUIRE(found.size() == 1);
    CHECK(found[0].rule == "secret-literal");
    CHECK(found[0].path == path);
    CHECK(found[0].mark.line == 6);
    CHECK(found[0].mark.column == 1);
    CHECK(found[0].message.find("private key block") != std::string::npos);
    CHECK(found[0].message.find("remove it from the file") != std::string::npos);
    CHECK(found[0].fingerprint.size() == k_fingerprint_digits);
    CHECK(found[0].message.find("fingerprint " + found[0].fingerprint) != std::string::npos);
    CHECK(found[0].message.find(openssh_lines()[1].substr(0, 8)) == std::string::npos);
  }

  SUBCASE("a private key in YAML comments: found, and the same key has one fingerprint") {
    const std::string yaml = "kind: Agent\nname: support\n# old deploy key, kept for reference:\n" +
                             openssh_key("# ") + "description: Answers questions\n";
    YamlResult loaded = load_yaml(yaml, k_path);
    REQUIRE(loaded.value);
    CHECK(scan_secrets(*loaded.value, k_path).empty()); // comments never reach the value
    const auto found = scan_file_secrets(yaml, &*loaded.value, k_path);
    INFO(messages(found));
    REQUIRE(found.size() == 1);
    CHECK(found[0].mark.line == 4);
    CHECK(found[0].mark.column == 3);
    const auto in_document = scan_text(openssh_key("    "));
    REQUIRE(in_document.size() == 1);
    CHECK(in_document[0].fingerprint == found[0].fingerprint);
  }

  SUBCASE("a secret both in a YAML value and in its text is one finding, the value's") {
    const std::string yaml = "notes: \"" + github_token() + "\"  # and " + aws_key() + "\n";
    YamlResult loaded = load_yaml(yaml, k_path);
    REQUIRE(loaded.value);
    const auto found = scan_file_secrets(yaml, &*loaded.value, k_path);
    INFO(messages(found));
    REQUIRE(found.size() == 2);
    CHECK(found[0].message.find("in 'notes'") != std::string::npos);
    CHECK(found[0].message.find("GitHub token") != std::string::npos);
    CHECK(found[1].message.find("AWS access key id") != std::string::npos);
    CHECK(found[1].mark.column == static_cast<int>(yaml.find(aws_key()) + 1));
    const std::string field = "password: \"" + k_random12b + "\"\n";
    YamlResult value = load_yaml(field, k_path);
    const auto one = scan_file_secrets(field, &*value.value, k_path);
    INFO(messages(one));
    REQUIRE(one.size() == 1);
    CHECK(one[0].message.find("secret field 'password'") != std::string::npos);
    // The same value assigned in a document has the same fingerprint.
    const auto prose = scan_text("Use password=" + k_random12b + " to log in.\n");
    REQUIRE(prose.size() == 1);
    CHECK(prose[0].fingerprint == one[0].fingerprint);
  }

  SUBCASE("a YAML file that does not load is still scanned") {
    const std::string broken = "kind: Agent\nname: [broken\npassword = " + k_random16 + "\n";
    const auto found = scan_file_secrets(broken, nullptr, k_path);
    REQUIRE(found.size() == 1);
    CHECK(found[0].mark.line == 3);
    CHECK(found[0].mark.column == 12);
  }

  SUBCASE("assignments of secret-looking values to secret-named keys") {
    struct Case {
      std::string text;
      std::string key;
    };
    const std::vector<Case> cases = {
        {"password = " + k_random12, "'password'"},
        {"DB_PASSWORD=" + k_random12 + "\n", "'DB_PASSWORD'"},
        {"export GITHUB_TOKEN=\"" + k_random16 + "\"", "'GITHUB_TOKEN'"},
        {"{\"api_key\": \"" + k_random12b + "\"}", "'api_key'"},
        {"run `cli --token=" + k_random12 + "` once", "'--token'"},
        {"spring.datasource.password: " + k_random28, "'spring.datasource.password'"},
        {"client_secret := '" + k_random12 + "'", "'client_secret'"},
        {"{ :secret => \"" + k_random12 + "\" }", "'secret'"},
        {"The admin Password: Summer2024!x, change it.", "'Password'"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.text);
      const auto found = scan_text(c.text);
      INFO(messages(found));
      REQUIRE(found.size() == 1);
      CHECK(found[0].message.find(c.key + " is set to a literal") != std::string::npos);
      CHECK(found[0].message.find("looks like a real secret") != std::string::npos);
      CHECK(found[0].fingerprint.size() == k_fingerprint_digits);
    }
  }

  SUBCASE("token formats and URLs with passwords, located") {
    const std::string text = "line one\n  call with " + github_token() +
                             "\nor https://admin:" + k_random12 + "@db.internal/x\n" +
                             "not https://admin:" + k_random12 + "@db.example.com/x (an example)\n";
    const auto found = scan_text(text);
    INFO(messages(found));
    REQUIRE(found.size() == 2);
    CHECK(found[0].mark.line == 2);
    CHECK(found[0].mark.column == 13);
    CHECK(found[1].mark.line == 3);
    CHECK(found[1].mark.column == 4);
  }

  SUBCASE("ordinary documents give nothing") {
    const std::string faq = R"doc(# Account and API access

## Resetting a password

If a customer forgets their password: send them the reset link from the
account page. Passwords must be at least 12 characters long. Never ask for
the password itself, and never paste a token into a ticket.

| Field      | Type   | Notes                                   |
|------------|--------|-----------------------------------------|
| password   | string | the user's password, never logged       |
| api_key    | string | see "API keys" below                    |
| token_url  | URL    | https://auth.example.com/oauth/token    |

## API keys

Keys are created under Settings > API. Set the key as an environment
variable rather than in code:

```sh
export API_TOKEN=${API_TOKEN}
export DB_PASSWORD="$(vault read -field=password secret/db)"
curl -H "Authorization: Bearer $API_TOKEN" https://api.example.com/v1/me
```

```python
password = os.environ["DB_PASSWORD"]
token = get_token(client_id=CLIENT_ID)
api_key: str = settings.OPENAI_API_KEY
if secret == expected_secret: pass
```

```json
{"api_key": "YOUR_API_KEY", "password": "<password>", "token": "${secrets.CRM_TOKEN}"}
```

```yaml
auth:
  token: "{{ vars.CRM_TOKEN }}"
  client_secret: ${secrets.CRM_CLIENT_SECRET}
  password: changeme
secret_name: crm-prod
max_tokens: 4096
```

A private key file starts with a line like -----BEGIN OPENSSH PRIVATE KEY-----
and must stay on the server. Connection strings look like
postgres://user:password@host:5432/db or https://user:<password>@host.

Token: the value shown once after creation. Secret: keep it in the vault.
Password: 8+ characters. The session token expires after 30 minutes; the
refresh token=valid for 30 days. Passwords like Summer2024 are weak.
Commit 9fceb02d0ae598e95dc970b74767f19372d61af8 fixed the token refresh.
Request id: 123e4567-e89b-12d3-a456-426614174000. Meet at 10:30, room=B12.
)doc";
    const auto found = scan_text(faq);
    INFO(messages(found));
    CHECK(found.empty());
  }

  SUBCASE("secret_fingerprint") {
    const std::string a = secret_fingerprint("token", github_token());
    CHECK(a.size() == k_fingerprint_digits);
    CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(a == secret_fingerprint("token", github_token()));
    CHECK(a != secret_fingerprint("secret-value", github_token()));
    CHECK(a != secret_fingerprint("token", github_token() + "x"));
  }
}
