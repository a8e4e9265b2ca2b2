// The exit waterfall: the slider and the number box follow each other; the chart is drawn from the
// json_script in the result, again after every htmx swap of the result.
(function () {
  const range = document.getElementById("exit-value-range");
  const number = document.getElementById("exit-value");
  if (range && number) {
    range.addEventListener("input", () => { number.value = range.value; });
    number.addEventListener("input", () => { if (number.value !== "") range.value = number.value; });
  }
  const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", maximumFractionDigits: 0 });
  const compact = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD", notation: "compact" });
  let chart = null;

  function draw() {
    const canvas = document.getElementById("waterfall-chart");
    const source = document.getElementById("waterfall-data");
    if (chart) { chart.destroy(); chart = null; }
    if (!canvas || !source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    if (!data) return;
    chart = new Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: [{ label: "Net proceeds", data: data.values, backgroundColor: "#1f5fbf" }] },
      options: {
        indexAxis: "y",
        animation: false,
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: (item) => money.format(item.parsed.x) } },
        },
        scales: { x: { beginAtZero: true, ticks: { callback: (value) => compact.format(value) } } },
      },
    });
  }

  draw();
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "waterfall-result") draw();
  });
})();
