package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/porticohq/portico/internal/seal"
)

func (c *cli) documentsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "documents", Short: "Check signed documents"}
	var certFile string
	verify := &cobra.Command{
		Use:   "verify FILE.pdf",
		Short: "Check a signed PDF's seal and the hash of the document that was signed, and print the evidence; exits 1 if anything changed",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			b, err := os.ReadFile(args[0])
			if err != nil {
				return usageErr("%w", err)
			}
			var want *seal.Signer
			if certFile != "" {
				if want, err = seal.LoadCertificate(certFile); err != nil {
					return usageErr("--cert: %w", err)
				}
			}
			res, err := seal.Verify(b)
			if errors.Is(err, seal.ErrChanged) {
				fmt.Fprintln(c.stdout, "FAIL", args[0]+":", err)
				return failed(err)
			}
			if err != nil {
				return err
			}
			fp := sha256.Sum256(res.Signer.Raw)
			if want != nil && !res.Signer.Equal(want.Cert) {
				fmt.Fprintf(c.stdout, "FAIL %s: sealed by %s (SHA-256 %X), not by --cert's certificate\n", args[0], res.Signer.Subject, fp)
				return failed(errors.New("sealed by another certificate"))
			}
			ev := res.Evidence
			w := c.stdout
			fmt.Fprintf(w, "ok: %s: the seal is valid and covers the whole file; the signed document is unchanged\n", args[0])
			fmt.Fprintf(w, "sealed by:        %s (certificate SHA-256 %X)\n", res.Signer.Subject, fp)
			fmt.Fprintf(w, "sealed at:        %s\n", res.SealedAt.Format(time.RFC3339))
			fmt.Fprintf(w, "document:         %s %s %s\n", ev.Object, ev.RecordID, ev.DocumentName)
			fmt.Fprintf(w, "document sha256:  %s (%d bytes)\n", ev.DocumentSHA256, ev.DocumentLength)
			fmt.Fprintf(w, "decision:         %s\n", ev.Decision)
			fmt.Fprintf(w, "signer:           %s <%s>, user %s\n", ev.SignerName, ev.SignerEmail, ev.SignerUserID)
			fmt.Fprintf(w, "signed in:        %s at %s\n", ev.AuthMethod, ev.AuthenticatedAt.Format(time.RFC3339))
			fmt.Fprintf(w, "signed at:        %s\n", ev.SignedAt.Format(time.RFC3339))
			fmt.Fprintf(w, "from:             %s\n", ev.IP)
			fmt.Fprintf(w, "user agent:       %s\n", ev.UserAgent)
			fmt.Fprintf(w, "consent:          version %s (%s): %s\n", ev.ConsentVersion, ev.ConsentLocale, ev.ConsentText)
			return nil
		},
	}
	verify.Flags().StringVar(&certFile, "cert", "", "a PEM certificate: also require that the seal was made with it (the operator's seal.cert_file)")
	cmd.AddCommand(verify)
	return cmd
}
