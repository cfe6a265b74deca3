package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/touchstone-assess/touchstone/credential"
)

// errNotVerified makes `touchstone verify` exit with status 1 when the
// credential does not verify, after printing why.
var errNotVerified = errors.New("the credential does not verify")

// verify runs `touchstone verify [--json] [--allow-http] FILE`: the Open
// Badges 3.0 verification of a credential file, resolving the issuer's
// keys and status lists over the web like any verifier.
func verify(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stdout)
	asJSON := fs.Bool("json", false, "print the verification as JSON")
	allowHTTP := fs.Bool("allow-http", false, "fetch keys and status lists over plain http from any host (http to localhost is always allowed)")
	fs.Usage = func() {
		fmt.Fprintln(stdout, "Usage: touchstone verify [--json] [--allow-http] FILE\n\nFILE is an Open Badges 3.0 credential: JSON with a Data Integrity proof, a VC-JWT, or a baked PNG or SVG badge (- reads standard input).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError(err.Error())
	}
	if fs.NArg() != 1 {
		return usageError("usage: touchstone verify [--json] [--allow-http] FILE")
	}
	var r io.Reader = os.Stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	input, err := io.ReadAll(io.LimitReader(r, credential.MaxVerifyBytes+1))
	if err != nil {
		return err
	}
	v := credential.VerifyBytes(ctx, input, credential.HTTPResolver{AllowHTTP: *allowHTTP}, time.Now())
	if *asJSON {
		v.Credential = nil
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "%s: %s (%s)\n", fs.Arg(0), v.State, v.Format)
		for _, c := range v.Checks {
			mark := "ok  "
			if !c.Passed {
				mark = "FAIL"
			}
			fmt.Fprintf(stdout, "  %s %-10s %s\n", mark, c.Name, c.Detail)
		}
	}
	if !v.Valid {
		return fmt.Errorf("%w: %s", errNotVerified, v.Problem)
	}
	return nil
}

// keys runs `touchstone keys rotate` and `touchstone keys reissue`.
//
// rotate replaces both issuer keys; the server publishes the new keys and
// retires the old ones at its next start. reissue KEY-ID re-issues, with the
// current keys, every unrevoked credential the key KEY-ID (an Ed25519
// Multikey, as in a proof's verificationMethod) signed, revoking the old
// ones with the reason: what to do when a key is compromised.
func keys(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	const usage = "usage: touchstone keys rotate [flags] | touchstone keys reissue KEY-ID --reason TEXT [flags]"
	if len(args) == 0 {
		return usageError(usage)
	}
	switch args[0] {
	case "rotate":
		cfg, err := parseConfig("keys rotate", args[1:], getenv, stdout)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		if err != nil {
			return err
		}
		return rotateKeys(cfg, stdout)
	case "reissue":
		if len(args) < 2 || strings.HasPrefix(args[1], "-") {
			return usageError(usage)
		}
		keyID, rest := args[1], args[2:]
		var reason string
		for i := 0; i < len(rest); i++ {
			if r, ok := strings.CutPrefix(rest[i], "--reason="); ok {
				reason = r
				rest = append(rest[:i:i], rest[i+1:]...)
				break
			}
			if rest[i] == "--reason" && i+1 < len(rest) {
				reason = rest[i+1]
				rest = append(rest[:i:i], rest[i+2:]...)
				break
			}
		}
		if strings.TrimSpace(reason) == "" {
			return usageError("touchstone keys reissue: --reason is required: it is recorded with every revocation")
		}
		cfg, err := parseConfig("keys reissue", rest, getenv, stdout)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		if err != nil {
			return err
		}
		baseURL := cfg.BaseURL
		if baseURL == "" {
			baseURL = "http://" + cfg.Addr
		}
		svc, err := wire(ctx, cfg, baseURL)
		if err != nil {
			return err
		}
		defer svc.close()
		if _, err := svc.credentials.EnsureIssuer(ctx, credential.IssuerInput{Name: "Touchstone"}); err != nil {
			return err
		}
		reissued, err := svc.credentials.ReissueSignedBy(ctx, "cli:keys-reissue", keyID, reason)
		fmt.Fprintf(stdout, "re-issued %d credentials signed with %s\n", len(reissued), keyID)
		return err
	}
	return usageError(usage)
}

func rotateKeys(cfg config, stdout io.Writer) error {
	keyOpts, err := cfg.keyOptions()
	if err != nil {
		return err
	}
	for _, path := range []string{cfg.IssuerKey, cfg.IssuerRSAKey} {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stdout, "%s: no key yet; the server creates one at start\n", path)
			continue
		}
		retired, err := credential.RotateKey(path, time.Now(), keyOpts...)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: new key; the old one is kept as %s\n", path, retired)
	}
	fmt.Fprintln(stdout, "Restart every server: it publishes the new keys, signs with them, and keeps the old ones published so earlier credentials still verify.")
	return nil
}
