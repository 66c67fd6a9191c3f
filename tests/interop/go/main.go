// Command biscuitgo reads, verifies, attenuates and forges Tokener tokens with biscuit-go, an
// independent Biscuit implementation (none of Tokener's code), for the interoperability tests
// in tests/interop/test_biscuit_go.py.
//
// Tokens are read from standard input and written to standard output in URL-safe base64 (the
// encoding Tokener uses). Diagnostics go to standard error and never contain a token.
//
//	biscuitgo verify --public-key HEX [--authorizer DATALOG]...   < token   JSON claims; exit 1 if refused
//	biscuitgo attenuate [--ttl-seconds N] [--check DATALOG]...    < token   the attenuated token
//	biscuitgo tamper --part signature|client|last-block [--client NAME] < token   a tampered copy
//	biscuitgo forge --client NAME [--scope S]... [--audience A]... [--ttl-seconds N]
//	                                                                        JSON {token, public_key_hex}
//	biscuitgo keygen                                                        JSON {public_key_hex}
//
// Exit status: 0 success, 1 the token was refused (bad signature, failed check or policy),
// 2 usage or input error.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/biscuit-auth/biscuit-go/v2"
	"github.com/biscuit-auth/biscuit-go/v2/datalog"
	"github.com/biscuit-auth/biscuit-go/v2/parser"
	"github.com/biscuit-auth/biscuit-go/v2/pb"
	"google.golang.org/protobuf/proto"
)

const (
	exitRefused = 1
	exitUsage   = 2
)

// refusal marks an error meaning "the token is not acceptable" (exit 1), as opposed to a
// usage or input problem (exit 2).
type refusal struct{ err error }

func (r refusal) Error() string { return r.err.Error() }
func (r refusal) Unwrap() error { return r.err }

func refused(format string, args ...any) error {
	return refusal{fmt.Errorf(format, args...)}
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ", ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "verify":
		err = verifyCmd(os.Args[2:])
	case "attenuate":
		err = attenuateCmd(os.Args[2:])
	case "tamper":
		err = tamperCmd(os.Args[2:])
	case "forge":
		err = forgeCmd(os.Args[2:])
	case "keygen":
		err = keygenCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "biscuitgo %s: %v\n", os.Args[1], err)
		var r refusal
		if errors.As(err, &r) {
			os.Exit(exitRefused)
		}
		os.Exit(exitUsage)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: biscuitgo verify|attenuate|tamper|forge|keygen [flags] (token on stdin)")
	os.Exit(exitUsage)
}

// --- encoding ----------------------------------------------------------------------------------

// decodeToken accepts URL-safe base64 with or without padding (surrounding whitespace ignored).
func decodeToken(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, errors.New("no token on standard input")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(text, "="))
	if err != nil {
		return nil, fmt.Errorf("token is not URL-safe base64: %w", err)
	}
	return raw, nil
}

// encodeToken writes URL-safe base64 with padding, as the Biscuit specification and Tokener do.
func encodeToken(raw []byte) string {
	return base64.URLEncoding.EncodeToString(raw)
}

func readToken() ([]byte, error) {
	text, err := io.ReadAll(os.Stdin)
	if err != nil {
		return nil, err
	}
	return decodeToken(string(text))
}

func parsePublicKey(text string) (ed25519.PublicKey, error) {
	raw, err := hex.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return nil, fmt.Errorf("public key is not hex: %w", err)
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key has %d bytes, want %d", len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

func printJSON(value any) error {
	encoder := json.NewEncoder(os.Stdout)
	return encoder.Encode(value)
}

// --- verify ------------------------------------------------------------------------------------

type claims struct {
	Client        string   `json:"client"`
	Audiences     []string `json:"audiences"`
	Scopes        []string `json:"scopes"`
	IssuedAt      int64    `json:"issued_at"`
	ExpiresAt     int64    `json:"expires_at"`
	BlockCount    int      `json:"block_count"`
	RevocationIDs []string `json:"revocation_ids"`
	HasRootKeyID  bool     `json:"has_root_key_id"`
	RootKeyID     uint32   `json:"root_key_id"`
}

func verifyCmd(args []string) error {
	flags := flag.NewFlagSet("verify", flag.ContinueOnError)
	publicKeyHex := flags.String("public-key", "", "root public key, 64 hex digits")
	var extra multiFlag
	flags.Var(&extra, "authorizer", "more authorizer datalog (facts, checks, policies; repeatable)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	root, err := parsePublicKey(*publicKeyHex)
	if err != nil {
		return err
	}
	raw, err := readToken()
	if err != nil {
		return err
	}
	token, err := biscuit.Unmarshal(raw)
	if err != nil {
		return fmt.Errorf("not a Biscuit: %w", err)
	}
	// The library's default run time limit (a few milliseconds) turns a busy machine into
	// spurious refusals; facts and iterations keep their limits.
	authorizer, err := token.Authorizer(root,
		biscuit.WithWorldOptions(datalog.WithMaxDuration(2*time.Second)))
	if err != nil {
		return refused("signature: %v", err)
	}

	// The service side of the check in the authority block: the current time.
	now, err := parser.FromStringFactWithParams("time({now})",
		map[string]biscuit.Term{"now": biscuit.Date(time.Now().UTC())})
	if err != nil {
		return err
	}
	authorizer.AddFact(now)
	for _, code := range extra {
		if !strings.HasSuffix(strings.TrimSpace(code), ";") {
			code += ";" // the authorizer grammar ends every statement with one
		}
		parsed, err := parser.FromStringAuthorizer(code)
		if err != nil {
			return fmt.Errorf("authorizer datalog: %w", err)
		}
		authorizer.AddAuthorizer(parsed)
	}
	policy, err := parser.FromStringPolicy("allow if client($c)")
	if err != nil {
		return err
	}
	authorizer.AddPolicy(policy)

	if err := authorizer.Authorize(); err != nil {
		return refused("authorization: %v", err)
	}

	// biscuit-go counts the appended blocks only; report all of them, authority included.
	result := claims{BlockCount: token.BlockCount() + 1}
	if result.Client, err = single(authorizer, "client"); err != nil {
		return err
	}
	if result.Audiences, err = stringsOf(authorizer, "audience"); err != nil {
		return err
	}
	if result.Scopes, err = stringsOf(authorizer, "scope"); err != nil {
		return err
	}
	if result.IssuedAt, err = dateOf(authorizer, "issued_at"); err != nil {
		return err
	}
	if result.ExpiresAt, err = dateOf(authorizer, "expires_at"); err != nil {
		return err
	}
	for _, id := range token.RevocationIds() {
		result.RevocationIDs = append(result.RevocationIDs, hex.EncodeToString(id))
	}
	container := new(pb.Biscuit)
	if err := proto.Unmarshal(raw, container); err != nil {
		return err
	}
	if container.RootKeyId != nil {
		result.HasRootKeyID = true
		result.RootKeyID = container.GetRootKeyId()
	}
	return printJSON(result)
}

func query(authorizer biscuit.Authorizer, predicate string) ([]biscuit.Term, error) {
	rule, err := parser.FromStringRule(fmt.Sprintf("queried($x) <- %s($x)", predicate))
	if err != nil {
		return nil, err
	}
	facts, err := authorizer.Query(rule)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", predicate, err)
	}
	terms := make([]biscuit.Term, 0, len(facts))
	for _, fact := range facts {
		terms = append(terms, fact.IDs[0])
	}
	return terms, nil
}

func stringsOf(authorizer biscuit.Authorizer, predicate string) ([]string, error) {
	terms, err := query(authorizer, predicate)
	if err != nil {
		return nil, err
	}
	values := []string{}
	for _, term := range terms {
		value, ok := term.(biscuit.String)
		if !ok {
			return nil, fmt.Errorf("%s holds a %T, want a string", predicate, term)
		}
		values = append(values, string(value))
	}
	sort.Strings(values)
	return values, nil
}

func single(authorizer biscuit.Authorizer, predicate string) (string, error) {
	values, err := stringsOf(authorizer, predicate)
	if err != nil {
		return "", err
	}
	if len(values) != 1 {
		return "", fmt.Errorf("%d %s facts, want 1", len(values), predicate)
	}
	return values[0], nil
}

func dateOf(authorizer biscuit.Authorizer, predicate string) (int64, error) {
	terms, err := query(authorizer, predicate)
	if err != nil {
		return 0, err
	}
	if len(terms) != 1 {
		return 0, fmt.Errorf("%d %s facts, want 1", len(terms), predicate)
	}
	date, ok := terms[0].(biscuit.Date)
	if !ok {
		return 0, fmt.Errorf("%s holds a %T, want a date", predicate, terms[0])
	}
	return time.Time(date).Unix(), nil
}

// --- attenuate ---------------------------------------------------------------------------------

func attenuateCmd(args []string) error {
	flags := flag.NewFlagSet("attenuate", flag.ContinueOnError)
	ttl := flags.Int64("ttl-seconds", 0, "add `check if time($t), $t <= now+N` (N may be negative); 0: none")
	var checks multiFlag
	flags.Var(&checks, "check", "a check to add, e.g. 'check if operation(\"read\")' (repeatable)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *ttl == 0 && len(checks) == 0 {
		return errors.New("nothing to add: give --ttl-seconds or --check")
	}
	raw, err := readToken()
	if err != nil {
		return err
	}
	token, err := biscuit.Unmarshal(raw)
	if err != nil {
		return fmt.Errorf("not a Biscuit: %w", err)
	}
	builder := token.CreateBlock()
	if *ttl != 0 {
		limit := time.Now().UTC().Add(time.Duration(*ttl) * time.Second).Truncate(time.Second)
		check, err := parser.FromStringCheckWithParams("check if time($t), $t <= {limit}",
			map[string]biscuit.Term{"limit": biscuit.Date(limit)})
		if err != nil {
			return err
		}
		if err := builder.AddCheck(check); err != nil {
			return err
		}
	}
	for _, code := range checks {
		check, err := parser.FromStringCheck(code)
		if err != nil {
			return fmt.Errorf("check datalog: %w", err)
		}
		if err := builder.AddCheck(check); err != nil {
			return err
		}
	}
	attenuated, err := token.Append(rand.Reader, builder.Build())
	if err != nil {
		return fmt.Errorf("append: %w", err)
	}
	out, err := attenuated.Serialize()
	if err != nil {
		return err
	}
	fmt.Println(encodeToken(out))
	return nil
}

// --- tamper ------------------------------------------------------------------------------------

func tamperCmd(args []string) error {
	flags := flag.NewFlagSet("tamper", flag.ContinueOnError)
	part := flags.String("part", "signature", "signature: flip a bit of the authority signature; "+
		"client: rename the client in the authority block (same length), keeping the signature; "+
		"last-block: flip a bit of the last appended block, keeping its signature")
	client := flags.String("client", "", "the token's client id (for --part client)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	raw, err := readToken()
	if err != nil {
		return err
	}
	container := new(pb.Biscuit)
	if err := proto.Unmarshal(raw, container); err != nil {
		return fmt.Errorf("not a Biscuit: %w", err)
	}
	switch *part {
	case "signature":
		signature := container.Authority.Signature
		if len(signature) == 0 {
			return errors.New("authority block has no signature")
		}
		signature[len(signature)/2] ^= 0x01
	case "client":
		if *client == "" {
			return errors.New("--part client needs --client")
		}
		if bytes.Count(container.Authority.Block, []byte(*client)) != 1 {
			return fmt.Errorf("client id does not occur exactly once in the authority block")
		}
		container.Authority.Block = bytes.Replace(container.Authority.Block,
			[]byte(*client), []byte(rotate(*client)), 1)
	case "last-block":
		if len(container.Blocks) == 0 {
			return errors.New("the token has no appended block")
		}
		block := container.Blocks[len(container.Blocks)-1].Block
		if len(block) == 0 {
			return errors.New("the last block is empty")
		}
		// The signature over the block no longer matches.
		block[len(block)-1] ^= 0x01
	default:
		return fmt.Errorf("unknown --part %q", *part)
	}
	out, err := proto.Marshal(container)
	if err != nil {
		return err
	}
	fmt.Println(encodeToken(out))
	return nil
}

// rotate shifts every ASCII letter by one (z -> a), so the result differs at every letter and
// keeps the length.
func rotate(text string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r < 'z', r >= 'A' && r < 'Z':
			return r + 1
		case r == 'z':
			return 'a'
		case r == 'Z':
			return 'A'
		}
		return r
	}, text)
}

// --- forge -------------------------------------------------------------------------------------

func forgeCmd(args []string) error {
	flags := flag.NewFlagSet("forge", flag.ContinueOnError)
	client := flags.String("client", "", "client id of the forged authority block")
	ttl := flags.Int64("ttl-seconds", 3600, "lifetime of the forged token")
	var scopes, audiences multiFlag
	flags.Var(&scopes, "scope", "a scope (repeatable)")
	flags.Var(&audiences, "audience", "an audience (repeatable)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *client == "" {
		return errors.New("--client is required")
	}
	public, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Second)
	expires := now.Add(time.Duration(*ttl) * time.Second)

	// The authority block in Tokener's documented shape, signed by a key Tokener never saw.
	builder := biscuit.NewBuilder(private)
	add := func(code string, params map[string]biscuit.Term) error {
		fact, err := parser.FromStringFactWithParams(code, params)
		if err != nil {
			return err
		}
		return builder.AddAuthorityFact(fact)
	}
	if err := add("client({c})", map[string]biscuit.Term{"c": biscuit.String(*client)}); err != nil {
		return err
	}
	for _, audience := range audiences {
		if err := add("audience({a})", map[string]biscuit.Term{"a": biscuit.String(audience)}); err != nil {
			return err
		}
	}
	for _, scope := range scopes {
		if err := add("scope({s})", map[string]biscuit.Term{"s": biscuit.String(scope)}); err != nil {
			return err
		}
	}
	if err := add("issued_at({t})", map[string]biscuit.Term{"t": biscuit.Date(now)}); err != nil {
		return err
	}
	if err := add("expires_at({t})", map[string]biscuit.Term{"t": biscuit.Date(expires)}); err != nil {
		return err
	}
	check, err := parser.FromStringCheckWithParams("check if time($t), $t <= {limit}",
		map[string]biscuit.Term{"limit": biscuit.Date(expires)})
	if err != nil {
		return err
	}
	if err := builder.AddAuthorityCheck(check); err != nil {
		return err
	}
	token, err := builder.Build()
	if err != nil {
		return err
	}
	out, err := token.Serialize()
	if err != nil {
		return err
	}
	return printJSON(map[string]string{
		"token":          encodeToken(out),
		"public_key_hex": hex.EncodeToString(public),
	})
}

func keygenCmd(args []string) error {
	if len(args) != 0 {
		return errors.New("keygen takes no arguments")
	}
	public, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	return printJSON(map[string]string{"public_key_hex": hex.EncodeToString(public)})
}
