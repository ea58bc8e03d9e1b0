// The map on tilsite's topics page: shows the title of the note under the pointer or the keyboard focus
// beside its dot (the dot's <title> alone shows only after a hover delay, and never on focus).
// Listeners sit on the document, so pages swapped in by Material's instant navigation need nothing more.
(function () {
  "use strict";
  function show(event) {
    const link = event.target.closest && event.target.closest(".tilsite-map a");
    if (!link) return;
    const svg = link.ownerSVGElement || link.closest("svg");
    const tip = svg && svg.querySelector(".tilsite-map-tip");
    const dot = link.querySelector("circle");
    if (!tip || !dot) return;
    const x = Number(dot.getAttribute("cx"));
    const y = Number(dot.getAttribute("cy"));
    const width = svg.viewBox.baseVal.width;
    tip.textContent = link.getAttribute("aria-label") || "";
    const right = x > width * 0.6; // keep the title inside the map
    tip.setAttribute("text-anchor", right ? "end" : "start");
    tip.setAttribute("x", String(right ? x - 10 : x + 10));
    tip.setAttribute("y", String(y < 30 ? y + 20 : y - 10));
  }
  function hide(event) {
    const link = event.target.closest && event.target.closest(".tilsite-map a");
    const svg = link && (link.ownerSVGElement || link.closest("svg"));
    const tip = svg && svg.querySelector(".tilsite-map-tip");
    if (tip) tip.textContent = "";
  }
  document.addEventListener("pointerover", show);
  document.addEventListener("focusin", show);
  document.addEventListener("pointerout", hide);
  document.addEventListener("focusout", hide);
})();
