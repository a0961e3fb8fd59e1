package fakesource

import (
	"fmt"
	"strings"
)

var (
	firstNames = []string{"Amy", "Ben", "Carla", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kofi", "Lena", "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tara", "Uma", "Victor", "Wen", "Xavier", "Yara", "Zoe"}
	lastNames  = []string{"Lauterbach", "Okafor", "Nguyen", "Schmidt", "Garcia", "Kowalski", "Haddad", "Tanaka", "Silva", "Murphy", "Rossi", "Johansson", "Patel", "Dubois", "Novak", "Kim", "Lindqvist", "Moreau", "Costa", "Ibrahim"}
	coWords1   = []string{"Bayshore", "Granite", "Northwind", "Blue Heron", "Cedar", "Summit", "Harbor", "Pioneer", "Silverline", "Redwood", "Lakeside", "Ironbridge", "Copperfield", "Meadow", "Atlas", "Beacon"}
	coWords2   = []string{"Logistics", "Dental", "Outfitters", "Bakery", "Engineering", "Landscaping", "Hardware", "Analytics", "Health", "Marine", "Textiles", "Brewing", "Robotics", "Pharmacy", "Motors", "Studios"}
	coSuffix   = []string{"Inc.", "LLC", "Ltd", "Co.", "Group", "GmbH", "& Sons", "Partners"}
	cities     = []struct{ city, state, zip string }{{"San Francisco", "CA", "94107"}, {"Bayshore", "CA", "94326"}, {"Austin", "TX", "78701"}, {"Portland", "OR", "97205"}, {"Denver", "CO", "80202"}, {"Chicago", "IL", "60601"}, {"Boston", "MA", "02110"}, {"Seattle", "WA", "98101"}, {"Atlanta", "GA", "30303"}, {"Madison", "WI", "53703"}}
	streets    = []string{"Finch St.", "Market St.", "Oak Ave.", "Harbor Blvd.", "Elm Rd.", "Mission St.", "Cedar Ln.", "Main St."}
	industries = []string{"Agriculture", "Apparel", "Banking", "Construction", "Education", "Electronics", "Energy", "Food & Beverage", "Healthcare", "Manufacturing", "Retail", "Technology", "Transportation"}
	titles     = []string{"Office Manager", "Owner", "Purchasing Lead", "Operations Director", "Accounts Payable", "CTO", "Facilities Coordinator", "Buyer"}
	products   = []string{"Espresso Grinder", "Cold Brew Kit", "Ceramic Mug", "Pour-over Stand", "Burr Set", "Milk Frother", "Travel Tumbler", "Filter Papers", "Descaling Tablets", "Kettle", "Scale", "Knock Box", "Tamper", "Portafilter", "Steam Wand Tip"}
	variants   = []string{"Small", "Large", "Black", "White", "Steel", "Copper", "Pack of 6", "Pack of 12"}
	caseSubj   = []string{"Order arrived damaged", "Invoice amount looks wrong", "Request for a replacement part", "Cannot log in to the portal", "Shipment has not arrived", "Question about warranty", "Need a copy of my invoice", "Change delivery address", "Product stopped working", "Request a quote for bulk order"}
	commentTxt = []string{"Thanks, we are looking into it.", "Could you send a photo of the damage?", "Replacement has been shipped.", "Customer confirmed the fix works.", "Escalated to the warehouse team.", "Waiting for the carrier's answer.", "Refund issued to the original payment method.", "Please confirm your delivery address."}
	carriers   = []string{"UPS", "FedEx", "USPS", "DHL"}
)

// companyName returns a company's name and its web domain.
func companyName(r *rnd) (string, string) {
	base := pick(r, coWords1) + " " + pick(r, coWords2)
	return base + " " + pick(r, coSuffix), slug(base) + ".example.com"
}

func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func phone(r *rnd) string {
	return fmt.Sprintf("(%03d) %03d-%04d", 200+r.intn(700), 200+r.intn(700), r.intn(10000))
}

// money rounds to cents.
func money(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }
