// Stripe's Payment Element for a commitment's PaymentIntent (production only; the sandbox uses a plain form).
// Stripe.js loads from js.stripe.com, as Stripe requires; after confirmation Stripe returns here, and the
// page follows the payment's status, which the webhook records.
(function () {
  const form = document.getElementById("payment-element-form");
  if (!form || typeof Stripe === "undefined") return;
  const stripe = Stripe(form.dataset.key);
  const elements = stripe.elements({ clientSecret: form.dataset.secret });
  elements.create("payment").mount("#payment-element");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { error } = await stripe.confirmPayment({ elements, confirmParams: { return_url: form.dataset.return } });
    if (error) document.getElementById("payment-error").textContent = error.message;
  });
})();
